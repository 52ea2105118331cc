"""Exactly once across a leader hand-over: two scheduler processes, the leader SIGKILLed between
the warning and the breach; each alert is emitted once, and the survivor takes over."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Event, OutboxItem, SlaAlert, Ticket
from tests.sla.clocks import FileClock
from tests.sla.conftest import START, make_operator, open_ticket

ROOT = Path(__file__).resolve().parents[2]


def spawn(url: str, clock: Path, runs: Path, name: str, logs: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sla.watch_process", url, str(clock), str(runs), name],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(logs / f"{name}.log").open("wb"),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def wait_for(condition: Callable[[], Awaitable[object]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_warning_and_breach_are_emitted_once_each_across_a_killed_leader(
    clocked: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path
) -> None:
    ticket_id = await open_ticket(clocked, priority="medium")  # first response due START + 4 h
    async with clocked() as session, session.begin():
        operator = await make_operator(session, telegram_user_id=4242)
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.assignee_id = operator.id
    clock = FileClock(tmp_path / "clock")
    clock.set(START)
    runs = tmp_path / "runs"
    runs.touch()

    def ran(name: str) -> bool:
        return name in runs.read_text().split()

    async def first_leads() -> bool:
        return ran("first")

    async def second_leads() -> bool:
        return ran("second")

    async def count(type_: str) -> int:
        async with clocked() as session:
            return len((await session.scalars(select(Event.id).where(Event.type == type_))).all())

    first = spawn(database_url, clock.path, runs, "first", tmp_path)
    second = None
    try:
        await wait_for(first_leads)
        second = spawn(database_url, clock.path, runs, "second", tmp_path)
        await asyncio.sleep(1.5)  # the second is up and asking for the lock
        assert not ran("second")
        clock.set(START + timedelta(hours=3, minutes=30))
        await wait_for(lambda: count("sla.warning"))
        await asyncio.sleep(0.6)  # the leader keeps running passes: nothing more is emitted
        assert not ran("second")  # the warning came from the first process
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        clock.set(START + timedelta(hours=4, minutes=1))
        await wait_for(lambda: count("sla.breached"))
        await wait_for(second_leads)  # the survivor wrote the breach (it notes its run after the commit)
        await asyncio.sleep(0.6)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(10)
    assert await count("sla.warning") == 1
    assert await count("sla.breached") == 1
    async with clocked() as session:
        ledger = (await session.execute(select(SlaAlert.target, SlaAlert.stage))).all()
        texts = (await session.scalars(select(OutboxItem.payload["chat_id"].as_integer())
                                       .where(OutboxItem.kind == "text"))).all()
    assert sorted(ledger) == [("first_response", "breach"), ("first_response", "warning")]
    assert texts == [4242, 4242]
