"""The dashboard's rollups: per day (`dashboard_day`) and per month and week of the month
(`dashboard_span`, the days summed).

Each pass recomputes yesterday and the day before (late first responses, ratings, SLA deadlines
passing), the days of tickets and orders changed since the previous pass (a ticket closed today counts
on the day it was created; a ticket reassigned moves its rating, counted on the rating's day), and days
never computed (the newest first, at most `backfill` a pass). A day stored by an older ROLLUP_VERSION
(without figures added since) counts as never computed. Idempotent: a day is recomputed whole and replaced.

A day's transaction also deletes the spans holding it, so a stored span always equals the sum of its
stored days (periods read the days while it is missing); the pass then sums every whole span whose days
are all stored and that has no row. A pass cut short (a killed leader) leaves only missing spans, which
the next pass fills. Writers take one transaction-scoped advisory lock, so a day written while a span is
being summed waits for it instead of leaving the span stale (and it holds behind PgBouncer)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import DashboardDay
from core.services.dashboard import (
    ROLLUP_VERSION,
    VERSION,
    day_figures,
    day_start,
    spans_containing,
    spans_starting,
)
from core.sla.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

LOCK = 7201032  # pg_advisory_xact_lock key of the rollup writers

_CHANGED = text("""
SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM ticket WHERE updated_at >= :since
UNION SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM orders WHERE updated_at >= :since
UNION SELECT DISTINCT (r.created_at AT TIME ZONE 'UTC')::date FROM ticket AS t
    JOIN ticket_rating AS r ON r.ticket_id = t.id WHERE t.updated_at >= :since
""")
_MISSING = text("""
SELECT d::date FROM generate_series(
    (SELECT (least((SELECT min(created_at) FROM ticket), (SELECT min(created_at) FROM orders))
             AT TIME ZONE 'UTC')::date),
    CAST(:yesterday AS date), interval '1 day') AS d
WHERE NOT EXISTS (SELECT 1 FROM dashboard_day WHERE day = d::date AND version >= :version)
ORDER BY d DESC LIMIT :limit
""")
_LOCK = text(f"SELECT pg_advisory_xact_lock({LOCK})")
_DROP_SPANS = text("DELETE FROM dashboard_span WHERE (start, stop) IN "
                   "(SELECT * FROM unnest(CAST(:starts AS date[]), CAST(:stops AS date[])))")
_STORED_DAYS = text("SELECT day FROM dashboard_day WHERE version >= :version")
_STORED_SPANS = text("SELECT start, stop FROM dashboard_span WHERE version >= :version")
# A span: its days' figures added up per figure and key (every day is stored: the caller checked, under
# the lock), with the version beside them.
_SUM_SPAN = text(f"""
INSERT INTO dashboard_span (start, stop, version, figures, computed_at)
SELECT :start, :stop, :version, coalesce(jsonb_object_agg(figure, keys), '{{}}'::jsonb), :now
FROM (SELECT figure, jsonb_object_agg(key, n) AS keys FROM (
        SELECT f.key AS figure, k.key AS key, sum(k.value::bigint) AS n FROM dashboard_day AS d
        CROSS JOIN LATERAL jsonb_each(d.figures) AS f CROSS JOIN LATERAL jsonb_each_text(f.value) AS k
        WHERE d.day >= :start AND d.day < :stop AND f.key <> '{VERSION}' GROUP BY 1, 2) AS sums
      GROUP BY figure) AS per_figure
ON CONFLICT (start, stop) DO UPDATE SET version = excluded.version, figures = excluded.figures,
    computed_at = excluded.computed_at
""")
# Rows change a little before their transaction commits: look back past the previous pass by a margin.
MARGIN = timedelta(minutes=5)


@dataclass
class RefreshRollups:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = SYSTEM_CLOCK
    backfill: int = 400

    async def run(self) -> int:
        """One pass: how many days were (re)computed (the spans follow them)."""
        today = self.clock.now().date()
        days = await self._due(today)
        for day in sorted(days, reverse=True):
            await self._store_day(day)
        spans = await self._store_spans(today)
        if days or spans:
            log.info("dashboard rollups: %d day(s), %d span(s) computed", len(days), spans)
        return len(days)

    async def _store_day(self, day: date) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(_LOCK)
            figures = await day_figures(session, day_start(day), day_start(day + timedelta(days=1)))
            row = {"day": day, "version": ROLLUP_VERSION, "figures": figures, "computed_at": self.clock.now()}
            await session.execute(insert(DashboardDay).values(row).on_conflict_do_update(
                index_elements=[DashboardDay.day],
                set_={"version": ROLLUP_VERSION, "figures": figures, "computed_at": row["computed_at"]}))
            held = spans_containing(day)
            await session.execute(_DROP_SPANS, {"starts": [start for start, _ in held],
                                                "stops": [stop for _, stop in held]})

    async def _store_spans(self, today: date) -> int:
        """Sum every whole span before today whose days are all stored and that has no current row."""
        version = {"version": ROLLUP_VERSION}
        async with self.sessions() as session:
            stored_days = set(await session.scalars(_STORED_DAYS, version))
            stored_spans = {(start, stop) for start, stop in (await session.execute(_STORED_SPANS, version)).all()}
        due = [span for day in sorted(stored_days) for span in spans_starting(day)
               if span not in stored_spans and span[1] <= today and all_stored(span, stored_days)]
        for start, stop in due:
            async with self.sessions() as session, session.begin():
                await session.execute(_LOCK)
                # Under the lock: no day of the span changed since it was read above (a day's writer
                # deletes the span in its own transaction, and a day is never deleted).
                await session.execute(_SUM_SPAN, {"start": start, "stop": stop, "version": ROLLUP_VERSION,
                                                  "now": self.clock.now()})
        return len(due)

    async def _due(self, today: date) -> set[date]:
        yesterday = today - timedelta(days=1)
        async with self.sessions() as session:
            last = await session.scalar(text("SELECT max(computed_at) FROM dashboard_day"))
            changed = set() if last is None else set(
                await session.scalars(_CHANGED, {"since": last - MARGIN}))
            missing = set(await session.scalars(
                _MISSING, {"yesterday": yesterday, "limit": self.backfill, "version": ROLLUP_VERSION}))
        return {day for day in changed | missing | {yesterday, today - timedelta(days=2)} if day < today}


def all_stored(span: tuple[date, date], days: set[date]) -> bool:
    start, stop = span
    return all(start + timedelta(days=n) in days for n in range((stop - start).days))


