"""The outbox worker under faults: a database outage is waited out in-process, and the rows of a worker
that died are taken over at once (its lease identity is gone), never while it lives."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import outbox_sql
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.health import Components
from core.listener import PgListener
from core.migrate import upgrade
from core.outbox import CHANNEL, Backoff, Delivery, LeaseOwner, OutboxWorker, Outcome
from core.supervisor import Supervisor
from tests.integration.test_listener_reconnect import terminate_backends
from tests.integration.test_outbox import RecordingChannel, enqueue_many, row
from tests.pg import PostgresForTests
from tests.waiting import eventually, running


@dataclass
class HangingChannel:
    """Takes a delivery and never finishes it (a send stuck in a process about to die)."""

    name: str = "test"
    taken: list[Delivery] = field(default_factory=list)

    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        self.taken.append(delivery)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@asynccontextmanager
async def private_database(pg_server: PostgresForTests) -> AsyncIterator[tuple[str, str]]:
    """A migrated database of its own, so the test can lock everyone out of it; yields (url, name)."""
    name = await pg_server.create_database()
    url = pg_server.url_for(name)
    await upgrade(url)
    yield url, name


async def enqueue_retrying(sessions: async_sessionmaker[AsyncSession], prefix: str) -> int:
    """The first statement after an outage may meet a pooled connection that died with it."""
    ids: list[int] = []

    async def attempt() -> bool:
        try:
            ids.extend(await enqueue_many(sessions, 1, prefix=prefix))
        except Exception:
            return False
        return True

    await eventually(attempt, timeout=10, interval=0.2)
    return ids[0]


async def test_worker_waits_out_a_database_outage_and_delivers_what_is_queued_after_it(
    pg_server: PostgresForTests,
) -> None:
    async with private_database(pg_server) as (url, name):
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        dsn = asyncpg_dsn(url)
        board = Components()
        channel = RecordingChannel()
        worker = OutboxWorker(sessions, {"test": channel}, backoff=Backoff(base=0.05, cap=0.2),
                              idle_seconds=0.3, owner=LeaseOwner(dsn, f"desk-outbox-{uuid.uuid4().hex[:6]}"),
                              status=board)
        listener = PgListener(dsn, min_backoff=0.05, max_backoff=0.5, status=board)
        listener.on(CHANNEL, worker.wake)
        supervisor = Supervisor(board, min_backoff=0.05)
        try:
            supervisor.start("listener", listener.run)
            supervisor.start("outbox", worker.run)
            before = await enqueue_retrying(sessions, "before")
            await eventually(lambda: [oid for oid, _p, _at in channel.calls] == [before] and board["outbox"] == "ok")

            await pg_server.lock_out(name, allowed=False)
            await eventually(lambda: board["outbox"] == "down" and board["listener"] == "down", timeout=5)
            await asyncio.sleep(1.5)  # a few failed passes and reconnects
            assert supervisor.running("outbox") and board["outbox"] == "down"

            await pg_server.lock_out(name, allowed=True)
            after = await enqueue_retrying(sessions, "after")
            await eventually(lambda: after in [oid for oid, _p, _at in channel.calls], timeout=10)
            await eventually(lambda: board["outbox"] == "ok" and board["listener"] == "ok")
            assert (await row(sessions, after)).state == "sent"
            assert [oid for oid, _p, _at in channel.calls] == [before, after]
            assert board.detail("outbox").restarts == 0, "the worker waited the outage out; it never ended"
            assert board.detail("listener").restarts == 0
        finally:
            supervisor.close()
            worker.stop()
            await listener.stop()
            await supervisor.stop()
            await worker.close()
            await engine.dispose()


@dataclass
class GatedChannel:
    """Records each delivery as it starts and finishes it once the gate opens."""

    name: str = "test"
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    started: list[tuple[int, float]] = field(default_factory=list)

    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        self.started.append((delivery.id, time.monotonic()))
        await self.gate.wait()
        return {"remote_id": delivery.id}


def lease_worker(sessions: async_sessionmaker[AsyncSession], dsn: str, channel: Any, name: str) -> OutboxWorker:
    owner = LeaseOwner(dsn, application_name=name)
    return OutboxWorker(sessions, {"test": channel}, owner=owner, idle_seconds=0.2,
                        backoff=Backoff(base=0.05, cap=0.2))


async def record_late(sessions: async_sessionmaker[AsyncSession], outcome: Outcome) -> list[Any]:
    """What the dead worker's RECORD would write, had it come through after all."""
    async with sessions() as session, session.begin():
        return list((await session.execute(outbox_sql.RECORD, {"rows": json.dumps([outcome.row()])})).scalars())


async def test_rows_of_a_dead_worker_are_taken_at_once_and_never_while_it_lives(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    hanging, gated = HangingChannel(), GatedChannel()
    a_name = f"desk-outbox-{uuid.uuid4().hex[:8]}"
    a, b = lease_worker(sessions, dsn, hanging, a_name), lease_worker(sessions, dsn, gated, f"{a_name}-b")
    assert a.owner is not None and b.owner is not None
    try:
        (oid,) = await enqueue_many(sessions, 1)
        async with running(a.run()) as (a_task,):
            await eventually(lambda: len(hanging.taken) == 1)
            claimed = await row(sessions, oid)
            assert (claimed.state, claimed.claimed_by, claimed.attempts) == ("sending", a.owner.key, 1)
            assert await b.run_once() == 0, "A lives (its lock is held): B must not take its row"
            async with running(b.run()):
                await asyncio.sleep(0.5)  # B's own passes (every 0.2 s) leave it alone too
                assert gated.started == []

                a_task.cancel()  # A's process dies: its task, and its session with it
                await asyncio.gather(a_task, return_exceptions=True)
                assert await terminate_backends(dsn, a_name) == 1
                died = time.monotonic()
                await eventually(lambda: len(gated.started) == 1, timeout=3)
                taken_after = gated.started[0][1] - died
                taken = await row(sessions, oid)
                assert (taken.state, taken.claimed_by, taken.attempts) == ("sending", b.owner.key, 2)
                late = Outcome(hanging.taken[0], "failed", error="written by the dead worker")
                assert await record_late(sessions, late) == [], "B holds the row: A's outcome is refused"
                gated.gate.set()
                await eventually(lambda: b.delivered == 1)
        assert taken_after < 1.0, f"took {taken_after:.2f} s: the dead worker's lease (120 s) was waited for"
        sent = await row(sessions, oid)
        assert (sent.state, sent.claimed_by, sent.attempts, sent.result) == ("sent", b.owner.key, 2, {"remote_id": oid})
        assert await record_late(sessions, late) == []
        after = await row(sessions, oid)
        assert (after.state, after.result, after.last_error, after.attempts) == ("sent", {"remote_id": oid}, None, 2)
    finally:
        await a.close()
        await b.close()
