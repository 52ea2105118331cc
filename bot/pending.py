"""Messages written before a ticket exists, kept in the FSM data (PostgreSQL) until the handoff, so
the operator sees what the customer asked and nothing the customer sent is lost."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

KEEP = 10


async def remember(state: FSMContext, message: Message) -> None:
    data = await state.get_data()
    pending: list[dict[str, Any]] = list(data.get("pending", []))
    raw = message.model_dump(mode="json", exclude_none=True, by_alias=True)
    if all(item.get("message_id") != raw.get("message_id") for item in pending):
        pending.append(raw)
    await state.update_data(pending=pending[-KEEP:])


async def take(state: FSMContext, bot: Bot) -> list[Message]:
    data = await state.get_data()
    messages = [Message.model_validate(raw).as_(bot) for raw in data.get("pending", [])]
    await state.update_data(pending=[])
    return messages


def subject_of(messages: list[Message]) -> str:
    for message in messages:
        text = message.text or message.caption
        if text:
            line = " ".join(text.split())
            return line if len(line) <= 80 else line[:79] + "…"
    return ""
