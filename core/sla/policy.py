"""SLA policies: built-in defaults per priority, overridden by admins (`sla_policy` rows)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import PRIORITIES
from core.errors import InvalidInput
from core.i18n import N_
from core.models import SlaPolicy
from core.services import audit

# minutes: (first response, resolution)
DEFAULTS: dict[str, tuple[int, int]] = {
    "urgent": (15, 4 * 60),
    "high": (60, 8 * 60),
    "medium": (4 * 60, 24 * 60),
    "low": (8 * 60, 72 * 60),
}
MAX_MINUTES = 366 * 24 * 60
_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m(?:in)?)?$")


@dataclass(frozen=True)
class Policy:
    priority: str
    first_response_minutes: int
    resolution_minutes: int
    custom: bool = False

    @property
    def first_response_seconds(self) -> int:
        return self.first_response_minutes * 60

    @property
    def resolution_seconds(self) -> int:
        return self.resolution_minutes * 60


def default_policy(priority: str) -> Policy:
    first, resolution = DEFAULTS[priority]
    return Policy(priority, first, resolution)


def parse_duration(value: str, field: str) -> int:
    """'15m', '4h', '1d', '1h30m' or a bare number of minutes → minutes."""
    text = value.strip().lower()
    if text.isdigit():
        minutes = int(text)
    else:
        match = _DURATION.match(text)
        if not text or match is None or not any(match.groups()):
            raise InvalidInput(N_("duration must look like 15m, 4h, 1d or 1h30m"), field=field, value=value)
        days, hours, mins = (int(part or 0) for part in match.groups())
        minutes = days * 1440 + hours * 60 + mins
    if not 0 < minutes <= MAX_MINUTES:
        raise InvalidInput(N_("duration must be between 1 minute and 366 days"), field=field, value=value)
    return minutes


async def policies(session: AsyncSession) -> dict[str, Policy]:
    """Every priority's policy, defaults filled in."""
    rows = (await session.scalars(select(SlaPolicy))).all()
    result = {priority: default_policy(priority) for priority in PRIORITIES}
    for row in rows:
        result[row.priority] = Policy(row.priority, row.first_response_minutes, row.resolution_minutes, True)
    return result


async def policy_for(session: AsyncSession, priority: str) -> Policy:
    row = await session.get(SlaPolicy, priority)
    if row is None:
        return default_policy(priority)
    return Policy(priority, row.first_response_minutes, row.resolution_minutes, True)


async def set_policy(
    session: AsyncSession, priority: str, *, first_response_minutes: int, resolution_minutes: int,
    actor_id: int | None,
) -> Policy:
    """Store an admin's policy. Tickets opened later use it; open ones keep their deadlines until
    their priority or queue changes."""
    if priority not in PRIORITIES:
        raise InvalidInput(N_("unknown priority"), field="priority", value=priority)
    for field, minutes in (("first_response", first_response_minutes), ("resolution", resolution_minutes)):
        if not 0 < minutes <= MAX_MINUTES:
            raise InvalidInput(N_("duration must be between 1 minute and 366 days"), field=field, value=minutes)
    if first_response_minutes > resolution_minutes:
        raise InvalidInput(N_("first response must not be later than resolution"), field="first_response")
    values = {"first_response_minutes": first_response_minutes, "resolution_minutes": resolution_minutes,
              "updated_by": actor_id}
    await session.execute(
        insert(SlaPolicy).values(priority=priority, **values)
        .on_conflict_do_update(index_elements=["priority"], set_=values)
    )
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="sla.policy", object_type="sla_policy", object_id=None, priority=priority,
                 first_response_minutes=first_response_minutes, resolution_minutes=resolution_minutes)
    return Policy(priority, first_response_minutes, resolution_minutes, True)


async def reset_policy(session: AsyncSession, priority: str, *, actor_id: int | None) -> Policy:
    if priority not in PRIORITIES:
        raise InvalidInput(N_("unknown priority"), field="priority", value=priority)
    await session.execute(delete(SlaPolicy).where(SlaPolicy.priority == priority))
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="sla.policy.reset", object_type="sla_policy", object_id=None, priority=priority)
    return default_policy(priority)
