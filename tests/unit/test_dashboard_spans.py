"""The dashboard's pre-summed spans (core.services.dashboard): months and weeks of the month nest, and a
period is covered by the fewest stored rows, with every day covered once and unstored days left live."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from core.services.dashboard import cover, spans_containing, spans_starting


def every_span(first: date, stop: date) -> set[tuple[date, date]]:
    """Every day and every span between first and stop, as if all were stored."""
    stored = set()
    day = first
    while day < stop:
        stored.add((day, day + timedelta(days=1)))
        stored.update(span for span in spans_starting(day) if span[1] <= stop)
        day += timedelta(days=1)
    return stored


def days_of(rows: list[tuple[date, date]], live: list[date]) -> list[date]:
    days = [start + timedelta(days=n) for start, stop in rows for n in range((stop - start).days)]
    return sorted(days + live)


def test_weeks_of_a_month_tile_it() -> None:
    for month in (date(2024, 2, 1), date(2025, 2, 1), date(2026, 4, 1), date(2026, 12, 1)):
        weeks = [spans_starting(month.replace(day=start))[-1] for start in (1, 8, 15, 22)]
        assert weeks[0][0] == month and weeks[-1][1] == spans_starting(month)[0][1]
        assert all(left[1] == right[0] for left, right in itertools.pairwise(weeks))
    assert spans_starting(date(2026, 2, 22)) == [(date(2026, 2, 22), date(2026, 3, 1))]  # 7 days
    assert spans_starting(date(2026, 1, 22)) == [(date(2026, 1, 22), date(2026, 2, 1))]  # 10 days
    assert spans_starting(date(2026, 12, 1))[0] == (date(2026, 12, 1), date(2027, 1, 1))
    assert spans_starting(date(2026, 1, 9)) == []
    assert spans_containing(date(2026, 3, 21)) == [(date(2026, 3, 1), date(2026, 4, 1)),
                                                    (date(2026, 3, 15), date(2026, 3, 22))]
    assert spans_containing(date(2026, 3, 31))[1] == (date(2026, 3, 22), date(2026, 4, 1))


def test_a_period_reads_few_rows_and_each_day_once() -> None:
    stored = every_span(date(2024, 1, 1), date(2027, 1, 1))
    for stop in (date(2026, 12, 7), date(2026, 3, 1), date(2026, 3, 2), date(2025, 12, 31), date(2026, 2, 22)):
        for days in (1, 7, 30, 45, 365, 400):
            first = stop - timedelta(days=days)
            rows, live = cover(first, stop, stored)
            assert live == []
            assert days_of(rows, live) == [first + timedelta(days=n) for n in range(days)]
            # edge days before the first week and after the last one, whole weeks, whole months
            assert len(rows) <= 9 + 3 + 14 + 3 + 9
        assert len(cover(stop - timedelta(days=365), stop, stored)[0]) <= 30


def test_missing_rows_fall_back_to_smaller_ones_then_live() -> None:
    stored = every_span(date(2026, 1, 1), date(2026, 6, 1))
    march, week = (date(2026, 3, 1), date(2026, 4, 1)), (date(2026, 3, 8), date(2026, 3, 15))
    stored -= {march, week, (date(2026, 3, 10), date(2026, 3, 11))}
    rows, live = cover(date(2026, 2, 1), date(2026, 5, 1), stored)
    assert march not in rows and week not in rows and (date(2026, 3, 1), date(2026, 3, 8)) in rows
    assert live == [date(2026, 3, 10)]
    assert days_of(rows, live) == [date(2026, 2, 1) + timedelta(days=n) for n in range(89)]
    assert cover(date(2026, 7, 1), date(2026, 7, 3), stored) == ([], [date(2026, 7, 1), date(2026, 7, 2)])
