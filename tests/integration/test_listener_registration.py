"""PgListener keeps running whatever its handlers and hooks do and whenever they are registered.

The production bug: `desk run` registered the outbox's handler while the listener was starting; the
listener iterated its handler dict across an await, the late registration ended the listener task
("dictionary changed size during iteration"), or the channel was never listened to."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from core.listener import PgListener
from tests.integration.test_listener_reconnect import terminate_backends
from tests.waiting import eventually, running


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def notifier(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def notify(conn: asyncpg.Connection, channel: str, payload: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", channel, payload)


async def delivered(conn: asyncpg.Connection, channel: str, got: list[str], payload: str = "ping") -> None:
    """NOTIFY until the handler has it: a LISTEN issued a moment later than the NOTIFY misses it."""

    async def arrived() -> bool:
        if payload not in got:
            await notify(conn, channel, payload)
        return payload in got

    await eventually(arrived, interval=0.05)


async def test_a_channel_added_at_any_moment_of_the_start_is_listened_to(dsn: str) -> None:
    """Old code: 4 of 60 starts died with RuntimeError when the handler came during start-up."""
    application_name = unique("desk-listener-sweep")
    async with notifier(dsn) as conn:
        for step in range(41):  # 0 .. 20 ms after run() began, in 0.5 ms steps
            listener = PgListener(dsn, min_backoff=0.05, application_name=application_name)
            listener.on(unique("early"), lambda _payload: None)
            channel, got = unique("late"), []
            async with running(listener.run()) as (task,):
                await asyncio.sleep(step * 0.0005)
                listener.on(channel, got.append)
                await listener.wait_connected(5)
                await delivered(conn, channel, got)
                assert not task.done(), f"the listener ended when a handler came {step * 0.5} ms after start"
                await listener.stop()


async def test_channels_added_together_while_connected_are_listened_to_now_and_after_a_reconnect(dsn: str) -> None:
    name = unique("desk-listener-added")
    listener = PgListener(dsn, min_backoff=0.05, application_name=name)
    got: dict[str, list[str]] = {}
    async with notifier(dsn) as conn, running(listener.run()) as (task,):
        await listener.wait_connected()
        channels = [unique("added") for _ in range(5)]
        for channel in channels:  # one after another, no await in between
            listener.on(channel, got.setdefault(channel, []).append)
        for channel in channels:
            await delivered(conn, channel, got[channel], "first")

        assert await terminate_backends(dsn, name) == 1
        await eventually(lambda: listener.reconnects == 1)
        for channel in channels:
            await delivered(conn, channel, got[channel], "second")
        assert not task.done()


async def test_a_handler_that_raises_does_not_end_the_listener(dsn: str) -> None:
    listener = PgListener(dsn, min_backoff=0.05, application_name=unique("desk-listener-raises"))
    channel, got = unique("faulty"), []

    def broken(_payload: str) -> None:
        raise RuntimeError("handler bug")

    async def broken_async(_payload: str) -> None:
        raise RuntimeError("async handler bug")

    listener.on(channel, broken)
    listener.on(channel, broken_async)
    listener.on(channel, got.append)
    async with notifier(dsn) as conn, running(listener.run()) as (task,):
        await listener.wait_connected()
        await delivered(conn, channel, got, "one")
        await delivered(conn, channel, got, "two")
        assert not task.done() and listener.alive
        assert listener.reconnects == 0


async def test_a_reconnect_hook_that_hangs_is_cut_off_and_the_listener_keeps_listening(dsn: str) -> None:
    name = unique("desk-listener-hook")
    listener = PgListener(dsn, min_backoff=0.05, application_name=name, hook_timeout=0.2)
    channel, got = unique("hooked"), []
    hook_calls: list[float] = []
    lost_calls: list[float] = []

    async def hang() -> None:
        hook_calls.append(asyncio.get_running_loop().time())
        await asyncio.Event().wait()

    async def hang_on_lost() -> None:
        lost_calls.append(asyncio.get_running_loop().time())
        await asyncio.Event().wait()

    listener.on(channel, got.append)
    listener.on_reconnect(hang)
    listener.on_lost(hang_on_lost)
    async with notifier(dsn) as conn, running(listener.run()) as (task,):
        await listener.wait_connected()
        await eventually(lambda: len(hook_calls) == 1)
        assert await terminate_backends(dsn, name) == 1
        await eventually(lambda: listener.reconnects == 1 and len(hook_calls) == 2, timeout=5)
        assert len(lost_calls) == 1
        await asyncio.sleep(0.5)  # past the hook's timeout: the cut-off hook costs no reconnect
        assert listener.alive and listener.reconnects == 1 and len(hook_calls) == 2
        await delivered(conn, channel, got)
        assert not task.done()
