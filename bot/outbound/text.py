"""`text`: a ready-rendered notice {chat_id, text, buttons?, parse_mode?} (HTML, already escaped)."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channel import Sender
from core.outbox import Delivery, PermanentFailure


def markup(buttons: list[list[dict[str, str]]] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton.model_validate(button) for button in row]
                                                 for row in buttons])


async def send_text(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    payload = delivery.payload
    try:
        chat_id = int(payload["chat_id"])
        text = str(payload["text"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"bad text payload: {exc!r}") from exc
    await sender.paced(chat_id)
    sent = await sender.bot.send_message(
        chat_id, text, parse_mode=payload.get("parse_mode", "HTML"), reply_markup=markup(payload.get("buttons")),
    )
    return {"external_id": sent.message_id, "external_key": f"tg:{chat_id}:{sent.message_id}"}
