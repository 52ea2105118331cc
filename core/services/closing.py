"""What follows a status change of a ticket: closed -> the SLA clock stops, and on a channel that
`rates_on_close` the customer is told and asked for a rating (kind `ticket_closed`, rendered by the
channel's adapter in the customer's language)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.channels import channels_of
from core.models import Ticket
from core.sla import hooks as sla
from core.staffgroup import topics as staff_topics


async def status_changed(session: AsyncSession, ticket: Ticket, old: str, new: str) -> None:
    await staff_topics.status_changed(session, ticket, old, new)
    if new != "closed":
        return
    await sla.ticket_closed(session, ticket)
    if not channels_of(session).get(ticket.channel).rates_on_close:
        return
    closed_at = ticket.closed_at.isoformat() if ticket.closed_at is not None else "now"
    await outbox.enqueue(
        session,
        channel=ticket.channel,
        kind="ticket_closed",
        payload={"ticket_id": ticket.id, "contact_id": ticket.contact_id},
        idempotency_key=f"ticket:{ticket.id}:closed:{closed_at}",
        order_key=f"contact:{ticket.contact_id}",
    )
