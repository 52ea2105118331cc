"""EventStream over PgListener: after the LISTEN connection is killed, it reconnects and replays."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import events
from core.event_reader import EventRecord
from core.listener import EventStream, PgListener
from tests.events import settled_last_id
from tests.waiting import eventually, running


async def terminate_backends(dsn: str, application_name: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1",
            application_name,
        )
    finally:
        await conn.close()


async def publish_one(sessions: async_sessionmaker[AsyncSession], number: int) -> int:
    """Publish one event; its id (the test's database has no other publisher)."""
    async with sessions() as session, session.begin():
        events.publish(session, "message.created", {"n": number})
    return await settled_last_id(sessions)


def make_stream(
    sessions: async_sessionmaker[AsyncSession], dsn: str, min_backoff: float
) -> tuple[PgListener, EventStream, list[int], str]:
    name = f"desk-listener-{uuid.uuid4().hex[:8]}"
    listener = PgListener(dsn, min_backoff=min_backoff, application_name=name)
    stream = EventStream(sessions, listener)
    received: list[int] = []

    async def record(batch: list[EventRecord]) -> None:
        received.extend(event.id for event in batch)

    stream.subscribe(record)
    return listener, stream, received, name


async def test_events_published_while_the_listener_is_down_arrive_once_after_reconnect(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    listener, stream, received, name = make_stream(sessions, dsn, min_backoff=1.0)
    await stream.start_from_now()
    async with running(listener.run(), stream.run()):
        await listener.wait_connected()
        before = await publish_one(sessions, 0)
        await eventually(lambda: received == [before])

        assert await terminate_backends(dsn, name) == 1
        await eventually(lambda: not listener.alive)
        during = [await publish_one(sessions, n) for n in range(1, 6)]
        await asyncio.sleep(0.2)
        assert received == [before], "nothing can arrive while the LISTEN connection is down"

        await eventually(lambda: listener.alive, timeout=5)
        await eventually(lambda: len(received) >= 6)
        after = await publish_one(sessions, 6)
        await eventually(lambda: after in received)
    assert received == [before, *during, after]
    assert listener.reconnects == 1


async def test_continuous_publishing_across_two_drops_is_delivered_exactly_once_in_order(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    listener, stream, received, name = make_stream(sessions, dsn, min_backoff=0.05)
    await stream.start_from_now()
    published: list[int] = []
    stop = asyncio.Event()

    async def writer() -> None:
        number = 0
        while not stop.is_set():
            published.append(await publish_one(sessions, number))
            number += 1
            await asyncio.sleep(0.01)

    async with running(listener.run(), stream.run()):
        await listener.wait_connected()
        async with running(writer()) as (writing,):
            for drop in (1, 2):
                await asyncio.sleep(0.3)
                assert await terminate_backends(dsn, name) == 1
                await eventually(lambda drop=drop: listener.reconnects == drop, timeout=5)
            await asyncio.sleep(0.2)
            stop.set()
            await writing
        await eventually(lambda: len(received) >= len(published))
        await asyncio.sleep(0.1)
    assert received == published
    assert stream.last_id == published[-1]


async def test_stream_started_from_now_skips_history_and_starts_after_the_last_event(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    old = await publish_one(sessions, 0)
    listener, stream, received, _name = make_stream(sessions, dsn, min_backoff=0.05)
    await stream.start_from_now()
    assert stream.last_id == old
    async with running(listener.run(), stream.run()):
        await listener.wait_connected()
        new = await publish_one(sessions, 1)
        await eventually(lambda: received == [new])


async def test_stream_recovers_when_its_read_connection_is_killed(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    listener, stream, received, _name = make_stream(sessions, dsn, min_backoff=0.05)
    await stream.start_from_now()
    async with running(listener.run(), stream.run()):
        await listener.wait_connected()
        first = await publish_one(sessions, 0)
        await eventually(lambda: received == [first])
        assert await terminate_backends(dsn, "desk-event-reader") == 1
        second = await publish_one(sessions, 1)
        await eventually(lambda: received == [first, second], timeout=5)
