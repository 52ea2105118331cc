"""Fixtures of the fault drills: an external PostgreSQL the test stops and starts, `desk run` processes,
a CPU burner beside them. Every process and the cluster are cleaned up, also when a drill fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.botapi import TelegramServer
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import CpuBurner, DeskProcess, desk_env


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def external_pg() -> Iterator[ExternalPostgres]:
    server = ExternalPostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
async def drill_db(external_pg: ExternalPostgres) -> str:
    """A fresh database on the external server (running again if an earlier drill left it stopped)."""
    if not external_pg.running:
        await asyncio.to_thread(external_pg.start)
    return await external_pg.create_database(f"drill_{uuid.uuid4().hex[:10]}")


@pytest.fixture
def cpu_burner() -> Iterator[CpuBurner]:
    burner = CpuBurner()
    yield burner
    burner.stop()


@pytest.fixture
async def start_desk(
    request: pytest.FixtureRequest, telegram: TelegramServer, drill_db: str, tmp_path: Path
) -> AsyncIterator[Callable[..., DeskProcess]]:
    """`start_desk()` runs one more `desk run` on the drill's database and the Bot API test server.
    `start_desk(webhook=True)` takes updates by webhook on the desk's own port; `**extra` adds settings
    (IMAP_HOST=...). Both stay in the environment of the later starts of the same drill."""
    started: list[DeskProcess] = []
    env = desk_env(tmp_path / "data", drill_db, telegram)

    def start(webhook: bool = False, **extra: str) -> DeskProcess:
        if webhook:
            env.update(TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{env['WEB_PORT']}",
                       TELEGRAM_WEBHOOK_SECRET="drill-webhook-secret")
        env.update(extra)
        desk = DeskProcess.start(tmp_path / "run", env)
        started.append(desk)
        return desk

    yield start
    for desk in started:
        desk.kill()
    if request.node.stash.get(FAILED, True):
        for desk in started[-2:]:
            print(f"\n----- tail of {desk.log_path} -----\n{desk.tail(80)}")
