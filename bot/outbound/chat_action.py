"""`chat_action` kind: the operator is typing in the panel; the customer sees "typing..." in Telegram."""

from __future__ import annotations

from typing import Any

from bot.channel import Sender
from core.outbox import Delivery, PermanentFailure

ACTIONS = frozenset({"typing", "upload_photo", "upload_document"})


async def send_chat_action(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    chat_id = delivery.payload.get("chat_id")
    action = delivery.payload.get("action", "typing")
    if not isinstance(chat_id, int) or action not in ACTIONS:
        raise PermanentFailure("bad chat_action payload")
    await sender.paced(chat_id)
    await sender.bot.send_chat_action(chat_id=chat_id, action=action)
    return {}
