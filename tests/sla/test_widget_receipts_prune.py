"""Receipts of website chat frames (the idempotency record of resends) are pruned after their retention."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import desk
from core.jobs.prune import PruneWidgetReceipts
from core.models import WidgetReceipt
from core.settings import load_settings
from tests.sla.clocks import ManualClock
from tests.sla.conftest import START


async def test_old_widget_receipts_are_pruned_in_batches(clocked: async_sessionmaker[AsyncSession],
                                                         clock: ManualClock) -> None:
    async with clocked() as session, session.begin():
        await session.execute(insert(WidgetReceipt), [
            {"visitor": "v1", "client_id": f"old{i}", "answers": [], "created_at": START - timedelta(days=8)}
            for i in range(7)
        ] + [{"visitor": "v1", "client_id": "new", "answers": [{"type": "answer"}],
              "created_at": START - timedelta(days=6)}])
    assert await PruneWidgetReceipts(clocked, timedelta(days=7), clock=clock, batch=3).run() == 7
    async with clocked() as session:
        assert (await session.scalars(select(WidgetReceipt.client_id))).all() == ["new"]


async def test_the_prune_job_runs_where_the_widget_is_served(database_url: str, tmp_path: Path) -> None:
    for enabled in (True, False):
        app = desk.build_desk(load_settings(_env_file=None, desk_data_dir=tmp_path, widget_enabled=enabled),
                              database_url)
        try:
            desk.register_jobs(app)
            assert ("housekeeping.prune_widget_receipts" in [job.id for job in app.scheduler.jobs]) is enabled
        finally:
            await app.engine.dispose()
