"""The SLA settings the panel shows and admins edit: policies, business hours, holidays, queue
members. Views call these with the signed-in operator; every edit is admin-only and audited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import STAFF_ROLES
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import N_
from core.models import Operator, Queue, QueueMember
from core.services import audit
from core.sla import hours, policy
from core.sla.hours import QueueHours
from core.sla.policy import Policy


def require_staff(actor: Operator) -> None:
    if not actor.is_active or actor.role not in STAFF_ROLES:
        raise NotAllowed("staff only", operator_id=actor.id)


def require_admin(actor: Operator) -> None:
    if not actor.is_active or actor.role != "admin":
        raise NotAllowed("admins only", operator_id=actor.id)


def _minutes(value: int | str, field: str) -> int:
    return value if isinstance(value, int) else policy.parse_duration(value, field)


async def list_policies(session: AsyncSession, actor: Operator) -> list[Policy]:
    require_staff(actor)
    return list((await policy.policies(session)).values())


async def update_policy(
    session: AsyncSession, actor: Operator, priority: str, *, first_response: int | str, resolution: int | str
) -> Policy:
    """Durations as minutes or as text ('15m', '4h', '1d')."""
    require_admin(actor)
    return await policy.set_policy(session, priority, first_response_minutes=_minutes(first_response, "first_response"),
                                   resolution_minutes=_minutes(resolution, "resolution"), actor_id=actor.id)


async def reset_policy(session: AsyncSession, actor: Operator, priority: str) -> Policy:
    require_admin(actor)
    return await policy.reset_policy(session, priority, actor_id=actor.id)


async def queue_hours(session: AsyncSession, actor: Operator, queue_id: int) -> QueueHours | None:
    require_staff(actor)
    return await hours.get_hours(session, queue_id)


async def update_hours(
    session: AsyncSession, actor: Operator, queue_id: int, *, time_zone: str,
    weekly: Mapping[str, Sequence[Sequence[str]]],
) -> QueueHours:
    require_admin(actor)
    return await hours.set_hours(session, queue_id, time_zone=time_zone, weekly=weekly, actor_id=actor.id)


async def clear_hours(session: AsyncSession, actor: Operator, queue_id: int) -> None:
    require_admin(actor)
    await hours.clear_hours(session, queue_id, actor_id=actor.id)


async def update_holidays(
    session: AsyncSession, actor: Operator, queue_id: int, holidays: Iterable[tuple[date | str, str]]
) -> None:
    """Replace the holiday list; days as dates or ISO strings ('2026-12-31')."""
    require_admin(actor)
    parsed = [(day if isinstance(day, date) else hours.parse_holiday(day), name) for day, name in holidays]
    await hours.set_holidays(session, queue_id, parsed, actor_id=actor.id)


async def queue_members(session: AsyncSession, actor: Operator, queue_id: int) -> list[Operator]:
    require_staff(actor)
    rows = await session.scalars(
        select(Operator).join(QueueMember, QueueMember.operator_id == Operator.id)
        .where(QueueMember.queue_id == queue_id).order_by(Operator.display_name)
    )
    return list(rows)


async def set_queue_members(session: AsyncSession, actor: Operator, queue_id: int, operator_ids: Iterable[int]) -> None:
    """Replace who works the queue (gets its SLA alerts while a ticket is unassigned, and its tickets when
    the queue assigns automatically)."""
    require_admin(actor)
    if await session.get(Queue, queue_id) is None:
        raise NotFound("queue", queue_id=queue_id)
    wanted = sorted(set(operator_ids))
    found = set(await session.scalars(
        select(Operator.id).where(Operator.id.in_(wanted), Operator.role.in_(STAFF_ROLES))
    )) if wanted else set()
    if found != set(wanted):
        raise InvalidInput(N_("Only operators and admins can work a queue."), field="operator_ids",
                           ids=sorted(set(wanted) - found))
    # Members who stay keep their row (and their auto-assignment round robin position).
    await session.execute(delete(QueueMember).where(QueueMember.queue_id == queue_id,
                                                    QueueMember.operator_id.not_in(wanted)))
    if wanted:
        await session.execute(insert(QueueMember).on_conflict_do_nothing(),
                              [{"queue_id": queue_id, "operator_id": op} for op in wanted])
    audit.record(session, actor_kind="operator", actor_id=actor.id, action="queue.members", object_type="queue",
                 object_id=queue_id, operator_ids=wanted)
