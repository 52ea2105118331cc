"""The composition root registers the SLA watch and the housekeeping jobs; settings are validated."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import desk
from core.models import Event
from core.settings import SettingsError, load_settings
from tests.sla.conftest import open_ticket


async def test_desk_registers_the_sla_jobs_and_the_watch_runs_on_the_real_clock(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = load_settings(_env_file=None, desk_data_dir=tmp_path, sla_warn_minutes=24 * 60)
    app = desk.build_desk(settings, database_url)
    try:
        desk.register_jobs(app)
        assert [job.id for job in app.scheduler.jobs] == [
            "sla.watch", "housekeeping.autoclose", "housekeeping.ratings", "housekeeping.prune_events",
            "housekeeping.orphan_files", "housekeeping.dashboard_rollups", "housekeeping.prune_kb_misses",
            "tickets.auto_assign", "orders.reminders",
            "housekeeping.prune_widget_receipts",
        ]
        assert app.scheduler.jobs[0].seconds == 60
        ticket_id = await open_ticket(sessions, priority="urgent")  # within a day of its deadlines
        for job in app.scheduler.jobs:
            await app.scheduler.run_now(job.id)
        async with sessions() as session:
            types = (await session.scalars(select(Event.type).where(Event.ticket_id == ticket_id))).all()
        assert types.count("sla.warning") == 2
    finally:
        await app.engine.dispose()


def test_auto_close_can_be_switched_off(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, desk_data_dir=tmp_path, autoclose_days=0)
    assert settings.autoclose_days == 0
    assert timedelta(minutes=load_settings(_env_file=None).sla_warn_minutes) == timedelta(hours=1)


@pytest.mark.parametrize(("name", "value"), [("SLA_WARN_MINUTES", "-5"), ("EVENT_RETENTION_DAYS", "0"),
                                             ("AUTOCLOSE_DAYS", "soon"), ("SLA_WATCH_SECONDS", "0"),
                                             ("AUTO_ASSIGN_MAX_OPEN", "0"), ("AUTO_ASSIGN_OFFLINE_MINUTES", "-1")])
def test_bad_sla_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert name in str(caught.value)
