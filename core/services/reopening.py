"""When a customer writes again on a closed ticket: reopen it within the window, else start anew.

Channel-neutral: any front that threads a customer's message to an existing ticket asks here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Ticket
from core.services import tickets as ticket_service


def may_reopen(ticket: Ticket, window_hours: float, now: datetime | None = None) -> bool:
    if ticket.status != "closed":
        return True
    if ticket.closed_at is None:
        return True
    return (now or datetime.now(UTC)) - ticket.closed_at <= timedelta(hours=window_hours)


async def ticket_for_customer_reply(session: AsyncSession, ticket: Ticket, window_hours: float) -> Ticket | None:
    """The ticket to append a customer's reply to (reopened if it was closed), or None when the
    ticket was closed longer ago than the window and the reply should open a new one."""
    if ticket.status != "closed":
        return ticket
    if not may_reopen(ticket, window_hours):
        return None
    return await ticket_service.change_status(session, ticket.id, "open", actor_kind="customer",
                                              actor_id=ticket.contact_id)
