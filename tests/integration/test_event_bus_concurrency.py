"""The event bus under many concurrent publishers on real PostgreSQL: ids come from xids, no lock is
held in COMMIT, and readers must still get every committed event exactly once, in increasing id order.

300 publishers, each on its own connection (as many at once as the server's max_connections leaves
room for), with random delays between their statements and before COMMIT; one transaction in five
rolls back; some take their xid early and sit on it (they hold the horizon), others only at the
hand-over. Meanwhile a plain writer that publishes nothing holds the horizon now and then (its commit
sends no NOTIFY). Three readers poll `events_after`, and one EventStream follows NOTIFY.
"""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import create_engine, create_session_factory
from core.event_reader import EventRecord
from core.events import events_after, publish
from core.listener import EventStream, PgListener
from tests.events import newest_stored, settled_last_id
from tests.waiting import eventually, running

PUBLISHERS = 300
TRANSACTIONS_EACH = 3
READERS = 3


class RolledBack(Exception):
    pass


async def free_connection_slots(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        limit = int(await conn.fetchval("SHOW max_connections"))
        used = int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"))
    finally:
        await conn.close()
    return limit - used


async def pause(rng: random.Random) -> None:
    await asyncio.sleep(rng.choice((0, 0, 0.0005, 0.002, 0.01, rng.uniform(0, 0.05))))


async def publisher(number: int, factory: async_sessionmaker[AsyncSession], gate: asyncio.Semaphore,
                    committed: set[str], rolled_back: set[str]) -> None:
    """One publisher; the gate is as wide as the pool, so each concurrent one has a connection of its own."""
    rng = random.Random(number)
    async with gate, factory() as session:
        for tx in range(TRANSACTIONS_EACH):
            keys = [f"{number}:{tx}:{n}" for n in range(rng.randint(1, 3))]
            roll_back = rng.random() < 0.2
            try:
                async with session.begin():
                    if rng.random() < 0.5:  # take the xid now: this transaction holds the horizon while it waits
                        await session.execute(text("SELECT pg_current_xact_id()"))
                    await pause(rng)
                    for key in keys:
                        publish(session, "bench.event", {"key": key})
                        await pause(rng)
                    await session.execute(text("SELECT 1"))
                    await pause(rng)  # before COMMIT
                    if roll_back:
                        raise RolledBack
            except RolledBack:
                rolled_back.update(keys)
            else:
                committed.update(keys)


async def silent_writer(dsn: str, stop: asyncio.Event) -> None:
    """Write transactions that publish nothing: they hold the horizon and end without a NOTIFY."""
    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            async with conn.transaction():
                await conn.execute("SELECT pg_current_xact_id()")
                await asyncio.sleep(rng.uniform(0, 0.08))
            await asyncio.sleep(rng.uniform(0, 0.05))
    finally:
        await conn.close()


async def polling_reader(factory: async_sessionmaker[AsyncSession], seen: list[EventRecord],
                         stop: asyncio.Event, rng: random.Random) -> None:
    last = 0
    while True:
        finishing = stop.is_set()
        async with factory() as session:
            batch = await events_after(session, last, limit=rng.choice((1, 7, 50, 1000)))
        seen.extend(EventRecord(e.id, e.type, e.data, e.audience, e.ticket_id, e.store_id, e.created_at)
                    for e in batch)
        last = batch[-1].id if batch else last
        if finishing and not batch:
            async with factory() as session:
                if last == await newest_stored(session):  # not merely held back by some writer
                    return
        await asyncio.sleep(rng.choice((0, 0.001, 0.01)))


@pytest.mark.timeout(300)
async def test_hundreds_of_concurrent_publishers_each_event_once_in_order_to_every_reader(
    sessions: async_sessionmaker[AsyncSession], database_url: str, dsn: str
) -> None:
    slots = min(PUBLISHERS, await free_connection_slots(dsn) - 20)  # room for readers, stream, fixtures
    assert slots >= 40, f"the test server leaves only {slots} connections"
    engine = create_engine(database_url, pool_size=slots)
    factory = create_session_factory(engine)
    committed: set[str] = set()
    rolled_back: set[str] = set()
    gate = asyncio.Semaphore(slots)
    stop_readers, stop_writer = asyncio.Event(), asyncio.Event()
    polled: list[list[EventRecord]] = [[] for _ in range(READERS)]
    streamed: list[EventRecord] = []

    async def record(batch: list[EventRecord]) -> None:
        streamed.extend(batch)

    listener = PgListener(dsn)
    stream = EventStream(sessions, listener)
    stream.subscribe(record)
    await stream.start_from_now()
    try:
        async with running(listener.run(), stream.run(), silent_writer(dsn, stop_writer),
                           *(polling_reader(sessions, polled[n], stop_readers, random.Random(n))
                             for n in range(READERS))) as tasks:
            await listener.wait_connected()
            await asyncio.wait_for(asyncio.gather(*(publisher(n, factory, gate, committed, rolled_back)
                                                    for n in range(PUBLISHERS))), 240)
            stop_writer.set()
            await asyncio.wait_for(tasks[2], 10)
            stop_readers.set()
            await asyncio.wait_for(asyncio.gather(*tasks[3:]), 30)
            # The stream needs no poll: the last commits' NOTIFYs, or its re-read timer, bring the rest.
            await eventually(lambda: len(streamed) >= len(committed), timeout=15)
            await asyncio.sleep(0.3)  # anything more would be a double
    finally:
        await engine.dispose()

    assert len(committed) > 1000 and rolled_back
    last_id = await settled_last_id(sessions)
    async with sessions() as session:
        stored = list(await events_after(session, 0, limit=100_000))
    assert {e.data["key"] for e in stored} == committed, "exactly the committed events were written"
    stored_ids = [e.id for e in stored]
    assert stored_ids == sorted(set(stored_ids))
    for name, seen in [*((f"poller {n}", p) for n, p in enumerate(polled)), ("stream", streamed)]:
        ids = [e.id for e in seen]
        assert ids == stored_ids, f"{name}: not every committed event exactly once in id order"
        assert not {e.data["key"] for e in seen} & rolled_back, f"{name}: an event of a rolled-back transaction"
    assert stream.last_id == stored_ids[-1] == last_id


async def test_events_held_by_a_long_silent_writer_are_reported_then_delivered_when_it_ends(
    sessions: async_sessionmaker[AsyncSession], dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A write transaction that publishes nothing holds the horizon: committed events wait, the stream
    warns naming it (pid, application_name, age) and shows `delayed` then `held`; when it commits (no
    NOTIFY) the re-read timer delivers the events, once."""
    status: dict[str, str] = {}
    listener = PgListener(dsn)
    stream = EventStream(sessions, listener, status=status, held_fail_after=0.8)
    stream.held_warn_after = 0.3
    received: list[int] = []

    async def record(batch: list[EventRecord]) -> None:
        received.extend(e.id for e in batch)

    stream.subscribe(record)
    await stream.start_from_now()
    holder = await asyncpg.connect(dsn, server_settings={"application_name": "long-writer"})
    try:
        async with running(listener.run(), stream.run()):
            await listener.wait_connected()
            transaction = holder.transaction()
            await transaction.start()
            await holder.fetchval("SELECT pg_current_xact_id()")
            for number in range(3):
                async with sessions() as session, session.begin():
                    publish(session, "held.event", {"n": number})
            await eventually(lambda: status.get("events") == "delayed", timeout=3)
            assert received == []
            await eventually(lambda: status.get("events") == "held", timeout=3)
            assert received == [] and stream.held_seconds() > 0.8
            warnings = [r for r in caplog.records if r.getMessage() == "events held back by a long write transaction"]
            assert len(warnings) == 1
            assert warnings[0].holder_application_name == "long-writer"  # type: ignore[attr-defined]
            assert warnings[0].holder_pid == holder.get_server_pid()  # type: ignore[attr-defined]
            assert warnings[0].holder_xact_seconds >= 0.3  # type: ignore[attr-defined]
            await transaction.commit()  # publishes nothing: no NOTIFY
            took = await eventually(lambda: len(received) == 3, timeout=2)
            assert took < 1.0, "the re-read timer (at most 250 ms apart) brings them"
            await eventually(lambda: status.get("events") == "ok", timeout=2)
            await asyncio.sleep(0.3)
    finally:
        await holder.close()
    await settled_last_id(sessions)
    async with sessions() as session:
        assert received == [e.id for e in await events_after(session, 0)]
