"""`chat_action` kind: the operator is typing in the panel; the customer sees "typing..." in Telegram."""

from __future__ import annotations

from typing import Any

from bot.channel import Sender
from core.outbox import Delivery, PermanentFailure

ACTIONS = frozenset({"typing", "upload_photo", "upload_document"})


def chat_of(payload: dict[str, Any]) -> int | None:
    """The chat of a hint: `chat_id` (what `typing_format` queues), or core's neutral `address` (the
    identity's external id, the user id as text)."""
    chat_id, address = payload.get("chat_id"), payload.get("address")
    if isinstance(chat_id, int):
        return chat_id
    if isinstance(address, str) and address.lstrip("-").isdigit():
        return int(address)
    return None


async def send_chat_action(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    chat_id = chat_of(delivery.payload)
    action = delivery.payload.get("action", "typing")
    if chat_id is None or action not in ACTIONS:
        raise PermanentFailure("bad chat_action payload")
    await sender.paced(chat_id)
    await sender.bot.send_chat_action(chat_id=chat_id, action=action)
    return {}
