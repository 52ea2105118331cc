"""Business-time arithmetic: a queue's working week in its own time zone, minus holidays.

Intervals are built per local day and converted to UTC through zoneinfo, so a daylight-saving
change moves the UTC hours the way a local clock on the wall does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from core.errors import InvalidInput
from core.i18n import N_

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS_SCANNED = 3 * 366
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")

Span = tuple[int, int]  # minutes from local midnight, end exclusive, end <= 1440


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    week: tuple[tuple[Span, ...], ...]  # Monday first, seven entries
    holidays: frozenset[date] = frozenset()

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (UTC) from the local day of `start` on; gives up after three years."""
        day = start.astimezone(self.zone).date()
        for offset in range(MAX_DAYS_SCANNED):
            current = day + timedelta(days=offset)
            if current in self.holidays:
                continue
            for begin, end in self.week[current.weekday()]:
                yield self._at(current, begin), self._at(current, end)

    def _at(self, day: date, minutes: int) -> datetime:
        day += timedelta(days=minutes // 1440)
        minutes %= 1440
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone).astimezone(UTC)


def add_business(calendar: BusinessCalendar | None, start: datetime, seconds: float) -> datetime:
    """The moment when `seconds` of business time have passed after `start`."""
    if calendar is None:
        return start + timedelta(seconds=seconds)
    remaining = max(seconds, 0.0)
    for begin, end in calendar.intervals(start):
        begin = max(begin, start)
        if end <= begin:
            continue
        span = (end - begin).total_seconds()
        if remaining <= span:
            return begin + timedelta(seconds=remaining)
        remaining -= span
    raise InvalidInput(N_("business hours have no working time"), field="weekly")


def business_seconds(calendar: BusinessCalendar | None, start: datetime, end: datetime) -> int:
    """Business time between two moments (0 when end is not after start)."""
    if end <= start:
        return 0
    if calendar is None:
        return int((end - start).total_seconds())
    total = 0.0
    for begin, finish in calendar.intervals(start):
        if begin >= end:
            break
        overlap = (min(finish, end) - max(begin, start)).total_seconds()
        total += max(overlap, 0.0)
    return int(total)


def parse_week(weekly: Mapping[str, Sequence[Sequence[str]]]) -> tuple[tuple[Span, ...], ...]:
    """{"mon": [["09:00", "18:00"]], ...} → seven sorted tuples of minute spans; days left out are closed."""
    unknown = set(weekly) - set(DAYS)
    if unknown:
        raise InvalidInput(N_("unknown day in business hours"), field="weekly", days=sorted(unknown))
    week = tuple(_parse_day(day, weekly.get(day, ())) for day in DAYS)
    if not any(week):
        raise InvalidInput(N_("business hours have no working time"), field="weekly")
    return week


def _parse_day(day: str, spans: Sequence[Sequence[str]]) -> tuple[Span, ...]:
    parsed: list[Span] = []
    for span in spans:
        if len(span) != 2:
            raise InvalidInput(N_("a working span is [start, end]"), field="weekly", day=day)
        begin, end = _minutes(span[0], day), _minutes(span[1], day)
        if begin >= end:
            raise InvalidInput(N_("a working span must end after it starts"), field="weekly", day=day)
        parsed.append((begin, end))
    parsed.sort()
    for (_, first_end), (second_begin, _) in pairwise(parsed):
        if second_begin < first_end:
            raise InvalidInput(N_("working spans overlap"), field="weekly", day=day)
    return tuple(parsed)


def _minutes(value: str, day: str) -> int:
    match = _HHMM.match(str(value))
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise InvalidInput(N_("time must be HH:MM"), field="weekly", day=day, value=str(value))
    return int(match.group(1)) * 60 + int(match.group(2))


def format_week(week: tuple[tuple[Span, ...], ...]) -> dict[str, list[list[str]]]:
    return {
        day: [[f"{b // 60:02d}:{b % 60:02d}", f"{e // 60:02d}:{e % 60:02d}"] for b, e in spans]
        for day, spans in zip(DAYS, week, strict=True)
        if spans
    }
