"""Business-time arithmetic: weekends, holidays, time zones, DST; and deadlines that use it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import InvalidInput
from core.models import Queue
from core.sla import hours
from core.sla.calendar import BusinessCalendar, add_business, business_seconds, parse_week
from tests.sla.clocks import ManualClock
from tests.sla.conftest import load, open_ticket

MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3, no DST
WEEKDAYS_9_TO_18 = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def moscow(*args: int) -> datetime:
    return datetime(*args, tzinfo=MOSCOW)  # type: ignore[misc]


def calendar(holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    return BusinessCalendar(MOSCOW, parse_week(WEEKDAYS_9_TO_18), holidays)


def test_time_runs_only_in_working_hours_across_a_weekend() -> None:
    friday_5pm = moscow(2026, 11, 27, 17, 0)
    # one hour on Friday, three on Monday
    assert add_business(calendar(), friday_5pm, 4 * 3600) == moscow(2026, 11, 30, 12, 0)
    assert business_seconds(calendar(), friday_5pm, moscow(2026, 11, 30, 12, 0)) == 4 * 3600


def test_a_holiday_is_skipped_like_a_weekend() -> None:
    friday_5pm = moscow(2026, 11, 27, 17, 0)
    monday_off = calendar(frozenset({date(2026, 11, 30)}))
    assert add_business(monday_off, friday_5pm, 4 * 3600) == moscow(2026, 12, 1, 12, 0)


def test_a_start_outside_hours_waits_for_the_next_opening() -> None:
    saturday = moscow(2026, 11, 28, 23, 30)
    assert add_business(calendar(), saturday, 15 * 60) == moscow(2026, 11, 30, 9, 15)


def test_split_days_and_daylight_saving_follow_the_local_wall_clock() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    week = parse_week({"sat": [["09:00", "12:00"]], "sun": [["09:00", "12:00"], ["13:00", "17:00"]]})
    cal = BusinessCalendar(berlin, week)
    # Clocks go back on Sunday 2026-10-25: 09:00 local is 07:00 UTC on Saturday, 08:00 UTC on Sunday.
    saturday_11 = datetime(2026, 10, 24, 11, 0, tzinfo=berlin)
    # 1 h on Saturday, 3 h on Sunday morning, 1 h after lunch.
    due = add_business(cal, saturday_11, 5 * 3600)
    assert due == datetime(2026, 10, 25, 14, 0, tzinfo=berlin)
    assert due == datetime(2026, 10, 25, 13, 0, tzinfo=UTC)
    assert business_seconds(cal, saturday_11.astimezone(UTC), due) == 5 * 3600


def test_without_business_hours_time_is_wall_time() -> None:
    start = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert add_business(None, start, 3600) == start + timedelta(hours=1)
    assert business_seconds(None, start, start + timedelta(hours=2)) == 7200


@pytest.mark.parametrize(
    "weekly",
    [{"mon": [["18:00", "09:00"]]}, {"mon": [["9:00", "18:00"]]}, {"funday": [["09:00", "10:00"]]},
     {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}, {}, {"mon": [["24:30", "25:00"]]}],
)
def test_bad_weekly_hours_are_refused_with_a_named_field(weekly: dict[str, list[list[str]]]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_week(weekly)
    assert caught.value.params["field"] == "weekly"


async def test_deadline_of_a_ticket_opened_friday_evening_lands_after_weekend_and_holiday(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with clocked() as session, session.begin():
        queue_id = await session.scalar(select(Queue.id).where(Queue.slug == "billing"))
        assert queue_id is not None
        await hours.set_hours(session, queue_id, time_zone="Europe/Moscow", weekly=WEEKDAYS_9_TO_18, actor_id=None)
        await hours.set_holidays(session, queue_id, [(date(2026, 11, 30), "Company day")], actor_id=None)
    clock.set(moscow(2026, 11, 27, 17, 30).astimezone(UTC))
    ticket = await load(clocked, await open_ticket(clocked, priority="high", queue="billing"))  # 1 h / 8 h
    assert ticket.frt_due_at == moscow(2026, 12, 1, 9, 30)
    assert ticket.ttr_due_at == moscow(2026, 12, 1, 16, 30)
    async with clocked() as session:
        shown = await hours.get_hours(session, queue_id)
    assert shown is not None and shown.holidays == [(date(2026, 11, 30), "Company day")]
    assert shown.weekly["fri"] == [["09:00", "18:00"]] and "sat" not in shown.weekly


async def test_an_unknown_time_zone_is_refused(clocked: async_sessionmaker[AsyncSession]) -> None:
    async with clocked() as session:
        queue_id = await session.scalar(select(Queue.id).where(Queue.slug == "billing"))
        assert queue_id is not None
        with pytest.raises(InvalidInput) as caught:
            await hours.set_hours(session, queue_id, time_zone="Mars/Olympus", weekly=WEEKDAYS_9_TO_18, actor_id=None)
    assert caught.value.params["field"] == "time_zone"
