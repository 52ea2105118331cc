"""`desk run` started while its external PostgreSQL is down waits for it (as it waits out an outage
while running), starts once it answers, and stops cleanly on Ctrl-C while still waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.drills.postgres import ExternalPostgres
from tests.drills.process import CpuBurner, DeskProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def test_a_desk_started_before_its_database_waits_for_it(
    start_desk: Callable[[], DeskProcess], external_pg: ExternalPostgres, cpu_burner: CpuBurner
) -> None:
    await asyncio.to_thread(external_pg.stop)
    try:
        desk = start_desk()
        waited = await desk.wait_for(lambda: _said(desk, "waiting for the database"), "a waiting line", 60)
        await asyncio.sleep(3)
        assert desk.process.poll() is None, f"the desk gave up on its database:\n{desk.tail()}"
        assert await desk.healthz() is None, "nothing is served before the database answers"
    finally:
        await asyncio.to_thread(external_pg.start)
    back = time.monotonic()
    await desk.wait_healthy(timeout=120)
    healthy_after = time.monotonic() - back
    print(f"\nstart before the database: waiting line after {waited:.1f} s, healthy {healthy_after:.1f} s "
          "after PostgreSQL came back")
    assert await desk.stop() == 0


async def test_ctrl_c_while_waiting_for_the_database_exits_0(
    start_desk: Callable[[], DeskProcess], external_pg: ExternalPostgres
) -> None:
    await asyncio.to_thread(external_pg.stop)
    try:
        desk = start_desk()
        await desk.wait_for(lambda: _said(desk, "waiting for the database"), "a waiting line", 60)
        assert await desk.stop() == 0
    finally:
        await asyncio.to_thread(external_pg.start)


async def _said(desk: DeskProcess, text: str) -> bool:
    return text in desk.log
