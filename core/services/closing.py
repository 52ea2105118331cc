"""What follows a status change of a Telegram ticket: closed -> the customer is told and asked for a
rating (kind `ticket_closed`, rendered by the bot in the customer's language); the SLA clock stops."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.models import Ticket
from core.sla import hooks as sla


async def status_changed(session: AsyncSession, ticket: Ticket, old: str, new: str) -> None:
    if new != "closed":
        return
    await sla.ticket_closed(session, ticket)
    if ticket.channel != "telegram":
        return
    closed_at = ticket.closed_at.isoformat() if ticket.closed_at is not None else "now"
    await outbox.enqueue(
        session,
        channel="telegram",
        kind="ticket_closed",
        payload={"ticket_id": ticket.id, "contact_id": ticket.contact_id},
        idempotency_key=f"ticket:{ticket.id}:closed:{closed_at}",
        order_key=f"contact:{ticket.contact_id}",
    )
