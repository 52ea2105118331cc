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

from sqlalchemy import exc as sa_exc
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

            async def recorded() -> bool:  # the outcome is written just after the send returns
                return (await row(sessions, after)).state == "sent"

            await eventually(recorded, timeout=10, interval=0.05)
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


async def test_an_outcome_whose_write_fails_for_no_known_reason_is_written_later_and_nothing_is_sent_twice(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    """A write of outcomes may fail with an error no class marks as "the database is away" (SQLAlchemy's
    "This connection is closed" after a reconnect that failed too): the outcomes stay in memory and are
    written once the database answers, every outcome of the batch, not only the first."""
    channel = RecordingChannel()
    worker = lease_worker(sessions, dsn, channel, f"desk-outbox-{uuid.uuid4().hex[:8]}")
    real_write, failures = worker._write_outcomes, []

    async def write_failing_once(outcomes: list[Outcome]) -> None:
        if not failures:
            failures.append([o.delivery.id for o in outcomes])
            raise sa_exc.InvalidRequestError("This connection is closed")
        await real_write(outcomes)

    worker._write_outcomes = write_failing_once  # type: ignore[method-assign]
    try:
        ids = await enqueue_many(sessions, 3, keys=3)
        assert await worker.run_once() == 3
        assert failures, "the first write failed"
        assert sorted(oid for oid, _p, _at in channel.calls) == ids, "each row sent once"
        assert [(r.state, r.attempts) for r in [await row(sessions, oid) for oid in ids]] == [("sent", 1)] * 3
        assert worker.delivered == 3
    finally:
        await worker.close()


async def test_a_claim_whose_commit_was_lost_is_given_back_after_the_outage_not_after_its_lease(
    pg_server: PostgresForTests,
) -> None:
    """The claim's COMMIT went through but its answer was lost with the connection: the row is 'sending'
    under this worker's key while nobody sends it, and the server restarted meanwhile, so no lock tells
    that its worker is gone. After the failed pass the worker frees its own rows: sent in seconds, not
    after the 120 s lease."""
    async with private_database(pg_server) as (url, name):
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        dsn = asyncpg_dsn(url)
        channel = RecordingChannel()
        worker = lease_worker(sessions, dsn, channel, f"desk-outbox-{uuid.uuid4().hex[:8]}")
        try:
            (oid,) = await enqueue_many(sessions, 1)
            owner = await worker.owner.ensure() if worker.owner is not None else None
            async with sessions() as session, session.begin():  # the claim whose answer never came back
                claimed = (await session.execute(outbox_sql.CLAIM, {
                    "channels": ["test"], "limit": 10, "lease": worker.lease_seconds, "owner": owner,
                    "lease_class": outbox_sql.LEASE_LOCK_CLASS})).all()
            assert [r.id for r in claimed] == [oid]
            await pg_server.lock_out(name, allowed=False)
            async with running(worker.run()):
                await eventually(lambda: worker.status.get("outbox") == "down", timeout=5)
                await pg_server.lock_out(name, allowed=True)
                await eventually(lambda: [o for o, _p, _at in channel.calls] == [oid], timeout=10)
                await eventually(lambda: worker.delivered == 1)
            sent = await row(sessions, oid)
            assert (sent.state, sent.attempts) == ("sent", 2)
        finally:
            worker.stop()
            await worker.close()
            await engine.dispose()
