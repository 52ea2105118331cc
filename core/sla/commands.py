"""What `desk sla ...` and `desk report sla` do, given sessions; desk.py only wires them."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import InvalidInput
from core.models import Ticket
from core.services import audit
from core.sla import deadlines, hooks, policy, reports
from core.sla.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


def _policy_line(item: policy.Policy) -> str:
    first = reports.short_duration(item.first_response_seconds)
    resolution = reports.short_duration(item.resolution_seconds)
    source = "custom" if item.custom else "default"
    return f"{item.priority:<7} first response {first:>8}   resolution {resolution:>8}   ({source})"


async def show_policies(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        current = await policy.policies(session)
    return "\n".join(_policy_line(item) for item in reversed(current.values())) + "\n"


async def set_policy(
    sessions: async_sessionmaker[AsyncSession], priority: str, first_response: int | None, resolution: int | None
) -> str:
    """Minutes; either may be left out: it keeps its current value."""
    async with sessions() as session, session.begin():
        current = await policy.policy_for(session, priority)
        first = current.first_response_minutes if first_response is None else first_response
        total = current.resolution_minutes if resolution is None else resolution
        stored = await policy.set_policy(session, priority, first_response_minutes=first, resolution_minutes=total,
                                         actor_id=None)
    return _policy_line(stored) + "\n"


async def report(sessions: async_sessionmaker[AsyncSession], days: int, clock: Clock = SYSTEM_CLOCK) -> str:
    if not 0 < days <= 3660:
        raise InvalidInput("days must be between 1 and 3660", field="days")
    async with sessions() as session:
        result = await reports.last_days(session, days, clock.now())
    return reports.format_report(result)


async def recompute_open(
    sessions: async_sessionmaker[AsyncSession], progress: Callable[[int], None] | None = None, batch: int = 500,
) -> int:
    """Apply today's policies and business hours to every ticket that is not closed (a deadline
    already met stays as it was). Each changed ticket gets a new SLA revision, so its warning and
    breach may fire again for the new deadline. Batches of `batch` tickets, one transaction each."""
    async with sessions() as session:
        total = int(await session.scalar(select(func.count()).where(Ticket.status != "closed")) or 0)
    if progress:
        progress(-total)  # announces the total before the first step
    after, done = 0, 0
    while True:
        async with sessions() as session, session.begin():
            tickets = (await session.scalars(
                select(Ticket).where(Ticket.status != "closed", Ticket.id > after)
                .order_by(Ticket.id).limit(batch).with_for_update()
            )).all()
            if not tickets:
                break
            for ticket in tickets:
                if ticket.sla_started_at is None:
                    deadlines.start_clocks(ticket, ticket.created_at)
                await hooks.new_deadlines(session, ticket)
            audit.record(session, actor_kind="system", actor_id=None, action="sla.recomputed", object_type="ticket",
                         object_id=None, first=tickets[0].id, last=tickets[-1].id, count=len(tickets))
        after, done = tickets[-1].id, done + len(tickets)
        log.info("sla deadlines recomputed", extra={"tickets": len(tickets), "done": done, "last_ticket": after})
        if progress:
            progress(len(tickets))
    return done


async def recompute(sessions: async_sessionmaker[AsyncSession], progress: Callable[[int], None] | None = None) -> str:
    done = await recompute_open(sessions, progress)
    return f"{done} open tickets now have deadlines from the current policies and business hours.\n"
