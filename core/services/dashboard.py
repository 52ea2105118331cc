"""Figures for the dashboard: ticket counts, response and resolution times, SLA attainment, CSAT, orders.

A period is read from per-day rollups (`dashboard_day`, kept by the leader's `RefreshRollups` job) for
its whole UTC days and computed live for the rest (today so far, and the part of the first day inside
the window). Whole months and weeks of the month are read from their pre-summed spans (`dashboard_span`,
kept by the same job), so 365 days read about 30 rows and cost what 7 do. A day's figures are counts
and histograms, which add up across days; the response and resolution percentiles come from log-scale
histograms (buckets 2% wide), so they are within about 1% of the exact ones.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Queue
from core.models.tickets import queue_display_name
from core.orders.statuses import ORDER_STATUSES
from core.services.histogram import BASE, percentile
from core.services.team import team_table

PERIODS = (7, 30, 365)
OPEN_END = datetime(9999, 1, 1, tzinfo=UTC)

_BUCKET = f"greatest(0, floor(ln(greatest(extract(epoch FROM {{end}} - created_at), 1)) / ln({BASE})))::int"
FRT_END = "first_response_at"
RESOLVED_END = "coalesce(resolved_at, closed_at)"

# The tickets created in the span [:start, :end), read once through the index on created_at (a
# materialized CTE of the figures' statement) and grouped by every ticket figure below.
DAY_TICKETS = "SELECT * FROM ticket WHERE created_at >= :start AND created_at < :end"
# One span's figures: those of `day_ticket` (DAY_TICKETS) and of the ratings, orders and replies created
# in [:start, :end), each read through an index on created_at.
DAY_QUERIES = {
    "by_status": "SELECT status, count(*) FROM day_ticket GROUP BY 1",
    "by_queue": "SELECT queue_id::text, count(*) FROM day_ticket GROUP BY 1",
    "by_channel": "SELECT channel, count(*) FROM day_ticket GROUP BY 1",
    "by_operator": "SELECT coalesce(assignee_id::text, ''), count(*) FROM day_ticket GROUP BY 1",
    "first_response": f"SELECT {_BUCKET.format(end=FRT_END)}::text, count(*) FROM day_ticket "
                      f"WHERE {FRT_END} IS NOT NULL GROUP BY 1",
    "resolution": f"SELECT {_BUCKET.format(end=RESOLVED_END)}::text, count(*) FROM day_ticket "
                  f"WHERE {RESOLVED_END} IS NOT NULL GROUP BY 1",
    # Share of tickets with a first-response deadline answered in time (open ones whose deadline has
    # not passed yet are not counted).
    "sla": "SELECT 'total', count(*) FROM day_ticket "
           "WHERE frt_due_at IS NOT NULL AND (first_response_at IS NOT NULL OR frt_due_at < now()) "
           "UNION ALL SELECT 'met', count(*) FROM day_ticket "
           "WHERE frt_due_at IS NOT NULL AND first_response_at <= frt_due_at",
    # Ratings (1..5) customers gave in the day; 4 and 5 count as satisfied.
    "csat": "SELECT 'sum', coalesce(sum(score), 0) FROM ticket_rating WHERE created_at >= :start AND created_at < :end "
            "UNION ALL SELECT 'count', count(*) FROM ticket_rating WHERE created_at >= :start AND created_at < :end "
            "UNION ALL SELECT 'satisfied', count(*) FROM ticket_rating "
            "WHERE created_at >= :start AND created_at < :end AND score >= 4",
    # Orders and bookings placed in the day, by their status now.
    "orders": "SELECT status, count(*) FROM orders WHERE created_at >= :start AND created_at < :end GROUP BY 1",
    # The per-operator table (core.services.team), keyed by operator id. Replies sent in the day, read
    # through the partial index ix_message_operator_created.
    "team_replies": "SELECT operator_id::text, count(*) FROM message WHERE author_kind = 'operator' "
                    "AND operator_id IS NOT NULL AND created_at >= :start AND created_at < :end GROUP BY 1",
    # "operator:bucket": first responses of the day's tickets, by the writer of the ticket's first reply
    # (found through the ticket's message index).
    "team_first_response": f"SELECT f.operator_id::text || ':' || ({_BUCKET.format(end=FRT_END)})::text, count(*) "
                           "FROM day_ticket AS ticket CROSS JOIN LATERAL (SELECT m.operator_id FROM message AS m "
                           "WHERE m.ticket_id = ticket.id AND m.author_kind = 'operator' ORDER BY m.id LIMIT 1) AS f "
                           f"WHERE {FRT_END} IS NOT NULL AND f.operator_id IS NOT NULL GROUP BY 1",
    # "operator:bucket": resolutions of the day's tickets, by assignee.
    "team_resolution": f"SELECT assignee_id::text || ':' || ({_BUCKET.format(end=RESOLVED_END)})::text, count(*) "
                       f"FROM day_ticket WHERE {RESOLVED_END} IS NOT NULL AND assignee_id IS NOT NULL GROUP BY 1",
    # "operator:sum" and "operator:count" of the day's ratings, by the rated ticket's assignee.
    "team_csat": "SELECT t.assignee_id::text || ':' || 'sum', sum(r.score) FROM ticket_rating AS r "
                 "JOIN ticket AS t ON t.id = r.ticket_id WHERE r.created_at >= :start AND r.created_at < :end "
                 "AND t.assignee_id IS NOT NULL GROUP BY t.assignee_id "
                 "UNION ALL SELECT t.assignee_id::text || ':' || 'count', count(*) FROM ticket_rating AS r "
                 "JOIN ticket AS t ON t.id = r.ticket_id WHERE r.created_at >= :start AND r.created_at < :end "
                 "AND t.assignee_id IS NOT NULL GROUP BY t.assignee_id",
}
# The shape of a stored day: a day stored by an older version (without figures added since) counts as
# never computed, so the job recomputes it and periods compute it live until then; a span of an older
# version is not read either. Raise it whenever DAY_QUERIES gains or changes a figure. 1: before the
# per-operator figures; 2: with them. Kept in the rows' `version` column (migration 0032; before it a
# day held it as the figure {"version": {"v": n}}, which the sums skip).
ROLLUP_VERSION = 2
VERSION = "version"  # the figure older days held their version in: never summed


def _figures_sql(spans: int) -> str:
    """Every figure of `spans` time spans in one statement (one round trip instead of one per figure and
    span, and each span's tickets read once): rows (figure, key, count); span i's bounds are :start<i>
    and :end<i>."""
    def bound(sql: str, i: int) -> str:
        return sql.replace(":start", f":start{i}").replace(":end", f":end{i}").replace("day_ticket", f"day_ticket{i}")

    tickets = [f"day_ticket{i} AS MATERIALIZED ({bound(DAY_TICKETS, i)})" for i in range(spans)]
    parts = [f"SELECT '{name}', k::text, n::bigint FROM ({bound(sql, i)}) AS x{i}_{n}(k, n)"
             for i in range(spans) for n, (name, sql) in enumerate(DAY_QUERIES.items())]
    return "WITH " + ",\n".join(tickets) + "\n" + "\nUNION ALL ".join(parts)


async def figures_of(session: AsyncSession, spans: list[tuple[datetime, datetime]]) -> dict[str, dict[str, int]]:
    """The figures of tickets, ratings and orders created in the spans [start, end), added up: counts keyed
    by text."""
    figures: dict[str, dict[str, int]] = {name: {} for name in DAY_QUERIES}
    if not spans:
        return figures
    bounds = {f"{edge}{i}": moment for i, span in enumerate(spans) for edge, moment in zip(("start", "end"), span,
                                                                                          strict=True)}
    for name, key, count in (await session.execute(text(_figures_sql(len(spans))), bounds)).all():
        if count:
            figures[name][str(key)] = figures[name].get(str(key), 0) + int(count)
    return figures


async def day_figures(session: AsyncSession, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """The figures of tickets, ratings and orders created in [start, end): counts keyed by text."""
    return await figures_of(session, [(start, end)])


def day_start(day: Any) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


WEEK_STARTS = (1, 8, 15, 22)  # the weeks of a month: days 1-7, 8-14, 15-21, 22 to the month's end


def spans_starting(day: date) -> list[tuple[date, date]]:
    """The pre-summed spans [start, stop) beginning on `day`, longest first: its month on the 1st, its
    week of the month on the 1st, 8th, 15th and 22nd (the last week runs to the month's end, 7 to 10
    days), so weeks and months nest and a period is whole months, whole weeks and at most 9 days at
    each edge."""
    spans = []
    if day.day == 1:
        spans.append((day, _next_month(day)))
    if day.day in WEEK_STARTS:
        spans.append((day, _next_month(day) if day.day == WEEK_STARTS[-1] else day + timedelta(days=7)))
    return spans


def spans_containing(day: date) -> list[tuple[date, date]]:
    """The month and the week of the month holding `day`."""
    month = day.replace(day=1)
    week = day.replace(day=max(start for start in WEEK_STARTS if start <= day.day))
    return [spans_starting(month)[0], spans_starting(week)[-1]]


def cover(first: date, stop: date, stored: set[tuple[date, date]]) -> tuple[list[tuple[date, date]], list[date]]:
    """[first, stop) as the fewest stored rows: (the stored spans and days to add up, the days with no
    stored row, to compute live). A span or day counts when `stored` holds its (start, stop)."""
    rows: list[tuple[date, date]] = []
    live: list[date] = []
    day = first
    while day < stop:
        span = next((span for span in spans_starting(day) if span[1] <= stop and span in stored), None)
        if span is None:
            span = (day, day + timedelta(days=1))
            if span not in stored:
                live.append(day)
                span = None
        if span is not None:
            rows.append(span)
        day += timedelta(days=1) if span is None else span[1] - span[0]
    return rows, live


# What the window has stored at the current version, as (start, stop): each day and each span.
_STORED = text("""
SELECT day, day + 1 FROM dashboard_day WHERE day >= :first AND day < :today AND version >= :version
UNION ALL SELECT start, stop FROM dashboard_span WHERE start >= :first AND stop <= :today
    AND version >= :version
""")
# The chosen rows added up in the database: one row per figure and key (a few thousand), not per day.
_SUMS = text(f"""
SELECT f.key, k.key, sum(k.value::bigint) FROM (
    SELECT figures FROM dashboard_day WHERE day = ANY(CAST(:days AS date[]))
    UNION ALL SELECT figures FROM dashboard_span
    WHERE (start, stop) IN (SELECT * FROM unnest(CAST(:starts AS date[]), CAST(:stops AS date[])))
) AS d CROSS JOIN LATERAL jsonb_each(d.figures) AS f CROSS JOIN LATERAL jsonb_each_text(f.value) AS k
WHERE f.key <> '{VERSION}'
GROUP BY 1, 2
""")


async def period_figures(session: AsyncSession, since: datetime, now: datetime) -> dict[str, Counter[str]]:
    """The sum of the figures from `since` on: whole days from the rollups (whole months and weeks from
    their pre-summed spans, so 365 days read about as many rows as 30), the edges (and any day the job
    has not computed yet) live."""
    first_whole = since.date() + timedelta(days=1) if since != day_start(since.date()) else since.date()
    today = now.astimezone(UTC).date()
    total: dict[str, Counter[str]] = {name: Counter() for name in DAY_QUERIES}
    window = {"first": first_whole, "today": today, "version": ROLLUP_VERSION}
    stored = {(start, stop) for start, stop in (await session.execute(_STORED, window)).all()}
    rows, live = cover(first_whole, max(first_whole, today), stored)
    if rows:
        chosen = {"days": [start for start, stop in rows if stop - start == timedelta(days=1)],
                  "starts": [start for start, stop in rows if stop - start > timedelta(days=1)],
                  "stops": [stop for start, stop in rows if stop - start > timedelta(days=1)]}
        for name, key, count in (await session.execute(_SUMS, chosen)).all():  # added up in the database
            if name in total:  # a figure since dropped from DAY_QUERIES is ignored
                total[name][key] += int(count)
    # Live, in one statement: the days not stored yet, the first day's part inside the window, and today so
    # far, open-ended as the live figures always were (a panel clock a little behind loses nothing).
    spans = [(day_start(start), day_start(stop)) for start, stop in _runs(live)]
    if since < day_start(first_whole):
        spans.append((since, min(day_start(first_whole), now)))
    spans.append((max(since, day_start(today)), OPEN_END))
    for name, counts in (await figures_of(session, spans)).items():
        total[name].update(counts)
    return total


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as spans [start, stop): the figures are counts, so a run of days not stored yet
    (all 365 before the job's first pass) is read as one span, not one CTE per day: on PostgreSQL 15, tests/integration/
    test_dashboard_rollups' 16 live periods took over 120 s one CTE per day and 4 s as runs."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + timedelta(days=1))
        else:
            runs.append((day, day + timedelta(days=1)))
    return runs


def _times(histogram: Counter[str]) -> dict[str, float | None]:
    return {"median": percentile(histogram, 0.5), "p90": percentile(histogram, 0.9),
            "count": sum(histogram.values())}


async def dashboard(session: AsyncSession, days: int, now: datetime, language: str = "en") -> dict[str, Any]:
    since = now - timedelta(days=days)
    queue_names = {str(row.id): queue_display_name(row.name, row.name_ru, language)
                   for row in (await session.execute(select(Queue.id, Queue.name, Queue.name_ru))).all()}
    figures = await period_figures(session, since, now)
    sla, csat = figures["sla"], figures["csat"]
    rated = csat["count"]
    return {
        "days": days,
        "since": since.isoformat(),
        "total": sum(figures["by_status"].values()),
        "by_status": dict(sorted(figures["by_status"].items())),
        "by_queue": {queue_names.get(key, key): n for key, n in sorted(figures["by_queue"].items(), key=_by_id)},
        "by_channel": dict(sorted(figures["by_channel"].items())),
        "by_operator": {key or "none": n for key, n in sorted(figures["by_operator"].items())},
        "first_response": _times(figures["first_response"]),
        "resolution": _times(figures["resolution"]),
        "sla": {"met": sla["met"], "total": sla["total"],
                "ratio": round(sla["met"] / sla["total"], 3) if sla["total"] else None},
        "csat": {"average": round(csat["sum"] / rated, 1) if rated else None, "count": rated,
                 "satisfied": round(csat["satisfied"] / rated, 3) if rated else None},
        "orders_by_status": {status: figures["orders"][status] for status in ORDER_STATUSES
                             if figures["orders"][status]},
        "team": [row.json() for row in await team_table(session, figures)],
    }


def _by_id(item: tuple[str, int]) -> int:
    return int(item[0])
