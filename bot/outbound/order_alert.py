"""`order_alert`: send a partner's alert, or edit the one already on their screen, in place."""

from __future__ import annotations

from typing import Any

from aiogram.exceptions import TelegramBadRequest

from bot.channel import Sender
from bot.outbound.text import markup
from core.orders import alerts
from core.outbox import Delivery, PermanentFailure


async def send_order_alert(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    payload = delivery.payload
    try:
        order_id, member_id = int(payload["order_id"]), int(payload["member_id"])
        chat_id, text = int(payload["chat_id"]), str(payload["text"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"bad order_alert payload: {exc!r}") from exc
    async with sender.desk.sessions() as session:
        target = await alerts.alert_target(session, order_id, member_id)
    if not target.member_present:
        return {"skipped": "member left the store"}
    keyboard = markup(payload.get("buttons"))
    await sender.paced(chat_id)
    if target.message_id is not None:
        try:
            await sender.bot.edit_message_text(text=text, chat_id=chat_id, message_id=target.message_id,
                                               reply_markup=keyboard)
            return {"external_id": target.message_id, "edited": True}
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return {"external_id": target.message_id, "edited": False}
            if "not found" not in exc.message and "can't be edited" not in exc.message:
                raise
    sent = await sender.bot.send_message(chat_id, text, reply_markup=keyboard)
    async with sender.desk.sessions() as session, session.begin():
        await alerts.remember_alert(session, order_id, member_id, chat_id, sent.message_id)
    return {"external_id": sent.message_id, "edited": False}
