"""What `desk sla ...` and `desk report sla` do, given sessions; desk.py only wires them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import InvalidInput
from core.sla import policy, reports
from core.sla.clock import SYSTEM_CLOCK, Clock


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
    sessions: async_sessionmaker[AsyncSession], priority: str, first_response: str | None, resolution: str | None
) -> str:
    """Either duration may be left out: it keeps its current value."""
    if first_response is None and resolution is None:
        raise InvalidInput("give --first-response and/or --resolution", field="first_response")
    async with sessions() as session, session.begin():
        current = await policy.policy_for(session, priority)
        first = policy.parse_duration(first_response, "first_response") if first_response else \
            current.first_response_minutes
        total = policy.parse_duration(resolution, "resolution") if resolution else current.resolution_minutes
        stored = await policy.set_policy(session, priority, first_response_minutes=first, resolution_minutes=total,
                                         actor_id=None)
    return _policy_line(stored) + "\n"


async def report(sessions: async_sessionmaker[AsyncSession], days: int, clock: Clock = SYSTEM_CLOCK) -> str:
    if not 0 < days <= 3660:
        raise InvalidInput("days must be between 1 and 3660", field="days")
    async with sessions() as session:
        result = await reports.last_days(session, days, clock.now())
    return reports.format_report(result)
