"""Customer notices sent by jobs: once per ticket and reason (the `ticket_notice` ledger), through the
ticket's own channel (the channel's `text` kind, its payload built by the channel's spec), in the
customer's language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.channels import Notice, channels_of
from core.models import Contact, Ticket, TicketNotice
from core.services.contacts import address_for_ticket, identity_of


async def record_notice(session: AsyncSession, ticket_id: int, kind: str, ref: str, now: datetime) -> bool:
    """True when this notice is new (the caller then sends it, in the same transaction)."""
    stmt = (
        insert(TicketNotice)
        .values(ticket_id=ticket_id, kind=kind, ref=ref, created_at=now)
        .on_conflict_do_nothing(constraint="uq_ticket_notice_once")
        .returning(TicketNotice.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


CustomerText = Notice  # the name the jobs use


async def send_to_customer(
    session: AsyncSession, contact: Contact, channel: str, message: Notice, key: str, *, ticket: Ticket | None = None
) -> bool:
    """Queue the notice; False when the customer cannot be reached there (or it was already queued).
    The address is the ticket's identity (the chat or address its conversation is on), else the
    contact's identity on the channel; the channel's spec builds the payload its `text` kind reads."""
    spec = channels_of(session).get(channel)
    if not spec.customer_notices or spec.notice_format is None:
        return False
    if ticket is not None and ticket.contact_id == contact.id and ticket.channel == channel:
        identity = await address_for_ticket(session, ticket)
    else:
        identity = await identity_of(session, contact.id, channel)
    if identity is None or identity.blocked:  # blocked there only: the contact's other channels still reach them
        return False
    payload, order_key = spec.notice_format(identity.external_id, message)
    return await outbox.enqueue(session, channel=channel, kind="text", payload=payload, idempotency_key=key,
                                order_key=order_key)
