"""Customer notices sent by jobs: once per ticket and reason (the `ticket_notice` ledger), through the
ticket's own channel (Telegram `text`, or email `text`), in the customer's language."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.channels import channels_of
from core.models import Contact, TicketNotice


async def record_notice(session: AsyncSession, ticket_id: int, kind: str, ref: str, now: datetime) -> bool:
    """True when this notice is new (the caller then sends it, in the same transaction)."""
    stmt = (
        insert(TicketNotice)
        .values(ticket_id=ticket_id, kind=kind, ref=ref, created_at=now)
        .on_conflict_do_nothing(constraint="uq_ticket_notice_once")
        .returning(TicketNotice.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


@dataclass(frozen=True)
class CustomerText:
    text: str  # plain text; escaped here for Telegram's HTML
    subject: str = ""  # email subject
    buttons: list[list[dict[str, str]]] | None = None


async def send_to_customer(
    session: AsyncSession, contact: Contact, channel: str, message: CustomerText, key: str
) -> bool:
    """Queue the notice; False when the customer cannot be reached there (or it was already queued).
    The address still comes from the contact's per-channel columns, until contact identities replace them."""
    if contact.blocked or not channels_of(session).get(channel).customer_notices:
        return False
    if channel == "telegram" and contact.telegram_user_id is not None:
        payload: dict[str, Any] = {"chat_id": contact.telegram_user_id, "text": html.escape(message.text),
                                   "parse_mode": "HTML"}
        if message.buttons:
            payload["buttons"] = message.buttons
        return await outbox.enqueue(session, channel=channel, kind="text", payload=payload,
                                    idempotency_key=key, order_key=f"tg:{contact.telegram_user_id}")
    if channel == "email" and contact.email:
        return await outbox.enqueue(session, channel=channel, kind="text",
                                    payload={"to": contact.email, "subject": message.subject, "text": message.text},
                                    idempotency_key=key, order_key=f"mail:{contact.email}")
    return False
