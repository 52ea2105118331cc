"""Missed knowledge-base questions are pruned after their 90 days, in batches, by a housekeeping job."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import desk
from core.jobs.prune import PruneKbMisses
from core.kb.misses import RETENTION
from core.models import KbMiss
from core.settings import load_settings
from tests.sla.clocks import ManualClock
from tests.sla.conftest import START


async def test_old_missed_questions_are_pruned_in_batches(clocked: async_sessionmaker[AsyncSession],
                                                          clock: ManualClock) -> None:
    async with clocked() as session, session.begin():
        await session.execute(insert(KbMiss), [
            {"language": "en", "question": f"old {i}", "question_key": "old", "outcome": "miss",
             "created_at": START - timedelta(days=91)} for i in range(7)
        ] + [{"language": "ru", "question": "new", "question_key": "new", "outcome": "miss",
              "created_at": START - timedelta(days=89)}])
    assert await PruneKbMisses(clocked, RETENTION, clock=clock, batch=3).run() == 7
    async with clocked() as session:
        assert (await session.scalars(select(KbMiss.question))).all() == ["new"]


async def test_the_prune_job_is_registered(database_url: str, tmp_path: Path) -> None:
    app = desk.build_desk(load_settings(_env_file=None, desk_data_dir=tmp_path), database_url)
    try:
        desk.register_jobs(app)
        assert "housekeeping.prune_kb_misses" in [job.id for job in app.scheduler.jobs]
    finally:
        await app.engine.dispose()
