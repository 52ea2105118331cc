"""Called by the conversation use cases at each moment that matters to the SLA clocks.

Each hook updates the ticket's SLA columns in the caller's transaction and asks the watch job to
look at the ticket on its next pass (`sla_next_check_at = now`); the watch decides what is due.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Ticket
from core.sla import deadlines
from core.sla.clock import clock_of
from core.sla.hours import calendar_for
from core.sla.policy import policy_for

RECOMPUTE_ON = frozenset({"priority", "queue_id", "queue"})


async def ticket_opened(session: AsyncSession, ticket: Ticket) -> None:
    """A new ticket: compute its first-response and resolution deadlines."""
    now = clock_of(session).now()
    deadlines.start_clocks(ticket, now)
    await _recompute(session, ticket)


async def ticket_changed(session: AsyncSession, ticket: Ticket, changed: set[str]) -> None:
    """Priority or queue changed: recompute deadlines (a new revision: its alerts may fire anew).
    Status changes: pause or resume the resolution clock."""
    if changed & RECOMPUTE_ON:
        await new_deadlines(session, ticket)
    if "status" not in changed:
        return
    if ticket.status == "closed":
        await ticket_closed(session, ticket)
    elif ticket.status == "waiting_customer":
        deadlines.pause(ticket, clock_of(session).now())
        _look_soon(session, ticket)
    elif ticket.sla_paused_at is not None:
        deadlines.reopen(ticket)
        await _resume(session, ticket)
    else:
        _look_soon(session, ticket)


async def new_deadlines(session: AsyncSession, ticket: Ticket) -> None:
    """Deadlines from today's policy and calendar, as a new revision (its alerts may fire anew)."""
    ticket.sla_revision = (ticket.sla_revision or 0) + 1
    await _recompute(session, ticket)


async def operator_replied(session: AsyncSession, ticket: Ticket) -> None:
    """A public operator reply meets the first-response deadline (notes and bot lines do not call this)."""
    if ticket.first_response_at is None:
        ticket.first_response_at = clock_of(session).now()
        _look_soon(session, ticket)


async def customer_wrote(session: AsyncSession, ticket: Ticket) -> None:
    """The customer wrote: a paused resolution clock resumes (a closed ticket stays frozen)."""
    if ticket.status != "closed" and ticket.sla_paused_at is not None:
        await _resume(session, ticket)


async def ticket_closed(session: AsyncSession, ticket: Ticket) -> None:
    """Resolution met; the watch forgets the ticket."""
    policy = await policy_for(session, ticket.priority)
    calendar = await calendar_for(session, ticket.queue_id)
    if ticket.sla_started_at is None:
        deadlines.start_clocks(ticket, ticket.created_at)
    deadlines.close(ticket, policy, calendar, clock_of(session).now())
    ticket.sla_next_check_at = None


async def _recompute(session: AsyncSession, ticket: Ticket) -> None:
    policy = await policy_for(session, ticket.priority)
    calendar = await calendar_for(session, ticket.queue_id)
    deadlines.compute(ticket, policy, calendar, clock_of(session).now())
    _look_soon(session, ticket)


async def _resume(session: AsyncSession, ticket: Ticket) -> None:
    policy = await policy_for(session, ticket.priority)
    calendar = await calendar_for(session, ticket.queue_id)
    deadlines.resume(ticket, policy, calendar, clock_of(session).now())
    _look_soon(session, ticket)


def _look_soon(session: AsyncSession, ticket: Ticket) -> None:
    ticket.sla_next_check_at = None if ticket.status == "closed" else clock_of(session).now()
