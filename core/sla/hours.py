"""Business hours and holidays per queue: loading a calendar and the admin edits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.i18n import N_
from core.models import BusinessHoliday, BusinessHours, Queue
from core.services import audit
from core.sla.calendar import BusinessCalendar, format_week, parse_week
from core.zones import check_time_zone


@dataclass(frozen=True)
class QueueHours:
    """What the panel shows and edits for one queue."""

    queue_id: int
    time_zone: str
    weekly: dict[str, list[list[str]]]
    holidays: list[tuple[date, str]]


async def calendar_for(session: AsyncSession, queue_id: int) -> BusinessCalendar | None:
    """The queue's calendar, or None when it works around the clock."""
    hours = await session.get(BusinessHours, queue_id)
    if hours is None:
        return None
    days = await session.scalars(select(BusinessHoliday.day).where(BusinessHoliday.queue_id == queue_id))
    return BusinessCalendar(check_time_zone(hours.time_zone), parse_week(hours.weekly), frozenset(days))


async def get_hours(session: AsyncSession, queue_id: int) -> QueueHours | None:
    hours = await session.get(BusinessHours, queue_id)
    if hours is None:
        return None
    rows = (await session.execute(
        select(BusinessHoliday.day, BusinessHoliday.name)
        .where(BusinessHoliday.queue_id == queue_id).order_by(BusinessHoliday.day)
    )).all()
    return QueueHours(queue_id, hours.time_zone, format_week(parse_week(hours.weekly)),
                      [(row.day, row.name) for row in rows])


async def set_hours(
    session: AsyncSession, queue_id: int, *, time_zone: str, weekly: Mapping[str, Sequence[Sequence[str]]],
    actor_id: int | None,
) -> QueueHours:
    """Validate and store a queue's working week; deadlines of tickets opened or changed later use it."""
    await _queue(session, queue_id)
    check_time_zone(time_zone)
    normalized: dict[str, Any] = format_week(parse_week(weekly))
    values = {"time_zone": time_zone, "weekly": normalized}
    await session.execute(
        insert(BusinessHours).values(queue_id=queue_id, **values)
        .on_conflict_do_update(index_elements=["queue_id"], set_=values)
    )
    _audit(session, actor_id, "sla.hours", queue_id, time_zone=time_zone, weekly=normalized)
    result = await get_hours(session, queue_id)
    assert result is not None
    return result


async def clear_hours(session: AsyncSession, queue_id: int, *, actor_id: int | None) -> None:
    """The queue works around the clock again (its holidays are kept for later)."""
    await session.execute(delete(BusinessHours).where(BusinessHours.queue_id == queue_id))
    _audit(session, actor_id, "sla.hours.cleared", queue_id)


async def set_holidays(
    session: AsyncSession, queue_id: int, holidays: Iterable[tuple[date, str]], *, actor_id: int | None
) -> None:
    """Replace the queue's holiday list."""
    await _queue(session, queue_id)
    rows = {day: name[:128] for day, name in holidays}
    await session.execute(delete(BusinessHoliday).where(BusinessHoliday.queue_id == queue_id))
    if rows:
        await session.execute(insert(BusinessHoliday), [
            {"queue_id": queue_id, "day": day, "name": name} for day, name in sorted(rows.items())
        ])
    _audit(session, actor_id, "sla.holidays", queue_id, days=[day.isoformat() for day in sorted(rows)])


async def _queue(session: AsyncSession, queue_id: int) -> Queue:
    queue = await session.get(Queue, queue_id)
    if queue is None:
        raise NotFound("queue", queue_id=queue_id)
    return queue


def parse_holiday(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(N_("a holiday is a date like 2026-12-31"), field="holidays", value=value) from exc


def _audit(session: AsyncSession, actor_id: int | None, action: str, queue_id: int, **data: Any) -> None:
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id, action=action,
                 object_type="queue", object_id=queue_id, **data)
