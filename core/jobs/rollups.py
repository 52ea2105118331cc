"""The dashboard's per-day rollups (`dashboard_day`): each pass recomputes yesterday and the day before
(late first responses, ratings, SLA deadlines passing), the days of tickets and orders changed since the
previous pass (a ticket closed today counts on the day it was created; a ticket reassigned moves its
rating, counted on the rating's day), and days never computed (the newest first, at most `backfill` a
pass). A day stored by an older ROLLUP_VERSION (without figures added since) counts as never computed.
Idempotent: a day is recomputed whole and replaced."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import DashboardDay
from core.services.dashboard import ROLLUP_VERSION, STORED_VERSION, VERSION, day_figures, day_start
from core.sla.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

_CHANGED = text("""
SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM ticket WHERE updated_at >= :since
UNION SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM orders WHERE updated_at >= :since
UNION SELECT DISTINCT (r.created_at AT TIME ZONE 'UTC')::date FROM ticket AS t
    JOIN ticket_rating AS r ON r.ticket_id = t.id WHERE t.updated_at >= :since
""")
_MISSING = text(f"""
SELECT d::date FROM generate_series(
    (SELECT (least((SELECT min(created_at) FROM ticket), (SELECT min(created_at) FROM orders))
             AT TIME ZONE 'UTC')::date),
    CAST(:yesterday AS date), interval '1 day') AS d
WHERE NOT EXISTS (SELECT 1 FROM dashboard_day WHERE day = d::date AND {STORED_VERSION} >= :version)
ORDER BY d DESC LIMIT :limit
""")
# Rows change a little before their transaction commits: look back past the previous pass by a margin.
MARGIN = timedelta(minutes=5)


@dataclass
class RefreshRollups:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = SYSTEM_CLOCK
    backfill: int = 400

    async def run(self) -> int:
        """One pass: how many days were (re)computed."""
        today = self.clock.now().date()
        days = await self._due(today)
        for day in sorted(days, reverse=True):
            async with self.sessions() as session, session.begin():
                figures: dict[str, dict[str, int]] = {
                    **await day_figures(session, day_start(day), day_start(day + timedelta(days=1))),
                    VERSION: {"v": ROLLUP_VERSION}}
                row = {"day": day, "figures": figures, "computed_at": self.clock.now()}
                await session.execute(insert(DashboardDay).values(row).on_conflict_do_update(
                    index_elements=[DashboardDay.day], set_={"figures": figures, "computed_at": row["computed_at"]}))
        if days:
            log.info("dashboard rollups: %d day(s) computed", len(days))
        return len(days)

    async def _due(self, today: date) -> set[date]:
        yesterday = today - timedelta(days=1)
        async with self.sessions() as session:
            last = await session.scalar(text("SELECT max(computed_at) FROM dashboard_day"))
            changed = set() if last is None else set(
                await session.scalars(_CHANGED, {"since": last - MARGIN}))
            missing = set(await session.scalars(
                _MISSING, {"yesterday": yesterday, "limit": self.backfill, "version": ROLLUP_VERSION}))
        return {day for day in changed | missing | {yesterday, today - timedelta(days=2)} if day < today}
