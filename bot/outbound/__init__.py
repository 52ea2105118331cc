"""Outbox kinds the Telegram channel sends. Each area registers its kinds in `telegram_kinds()`."""

from __future__ import annotations

from bot.channel import Kind
from bot.outbound.chat_action import send_chat_action
from bot.outbound.closing import send_ticket_closed
from bot.outbound.order_alert import send_order_alert
from bot.outbound.reply import send_reply
from bot.outbound.text import send_text
from bot.staffgroup.outbound import staff_group_kinds


def telegram_kinds() -> dict[str, Kind]:
    kinds: dict[str, Kind] = {"reply": send_reply, "text": send_text, "ticket_closed": send_ticket_closed}
    kinds["chat_action"] = send_chat_action
    kinds["order_alert"] = send_order_alert
    kinds.update(staff_group_kinds())
    return kinds
