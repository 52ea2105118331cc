"""LISTEN on a connection of its own, reconnecting with backoff, and the event stream built on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import events
from core.event_reader import EventReader, EventRecord

log = logging.getLogger(__name__)

NotifyHandler = Callable[[str], Awaitable[None] | None]
ReconnectHandler = Callable[[], Awaitable[None]]


class PgListener:
    """One LISTEN connection per process. After a drop it reconnects and calls the reconnect hooks,
    so consumers catch up on what was published while it was away."""

    def __init__(
        self, dsn: str, *, min_backoff: float = 0.1, max_backoff: float = 5.0, application_name: str = "desk-listener"
    ) -> None:
        self._dsn = dsn
        self._handlers: dict[str, list[NotifyHandler]] = {}
        self._on_reconnect: list[ReconnectHandler] = []
        self._on_lost: list[ReconnectHandler] = []
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._application_name = application_name
        self._connected = asyncio.Event()
        self._stopping = False
        self._conn: asyncpg.Connection | None = None
        self.reconnects = 0
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def dsn(self) -> str:
        return self._dsn

    @property
    def alive(self) -> bool:
        return self._connected.is_set()

    def on(self, channel: str, handler: NotifyHandler) -> None:
        self._handlers.setdefault(channel, []).append(handler)

    def on_reconnect(self, handler: ReconnectHandler) -> None:
        self._on_reconnect.append(handler)

    def on_lost(self, handler: ReconnectHandler) -> None:
        """Called once the connection is gone (the server may have restarted: pooled connections are
        likely dead too)."""
        self._on_lost.append(handler)

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def run(self) -> None:
        backoff = self._min_backoff
        first = True
        while not self._stopping:
            lost = asyncio.Event()
            try:
                self._conn = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": self._application_name}
                )
                self._conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in self._handlers:
                    await self._conn.add_listener(channel, self._dispatch)
                self._connected.set()
                if not first:
                    self.reconnects += 1
                    log.info("listener reconnected", extra={"reconnects": self.reconnects})
                first = False
                backoff = self._min_backoff
                for hook in self._on_reconnect:
                    await hook()
                await self._watch(lost)
                if not self._stopping:
                    log.warning("listener connection lost; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                if self._connected.is_set() or backoff == self._min_backoff:
                    log.warning("listener connection lost", extra={"error": str(exc)})
            finally:
                was_connected = self._connected.is_set()
                self._connected.clear()
                await self._close()
            if self._stopping:
                break
            if was_connected:
                for hook in self._on_lost:
                    try:
                        await hook()
                    except Exception:
                        log.exception("listener lost-connection hook failed")
            await asyncio.sleep(backoff + random.uniform(0, backoff / 2))
            backoff = min(backoff * 2, self._max_backoff)

    async def _watch(self, lost: asyncio.Event) -> None:
        """Wait for loss; a periodic ping finds a half-open socket that sends no termination."""
        while not self._stopping and not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), 5.0)
            if not lost.is_set() and self._conn is not None and not self._stopping:
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), 5.0)

    def _dispatch(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        for handler in self._handlers.get(channel, []):
            result = handler(payload)
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)

    async def stop(self) -> None:
        self._stopping = True
        await self._close()


EventHandler = Callable[[list[EventRecord]], Awaitable[None]]


class EventStream:
    """Reads events in id order after NOTIFY (or a reconnect) and hands them to subscribers.
    One reader at a time; a wake-up during a read triggers one more read, so nothing is missed."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], listener: PgListener) -> None:
        self._sessions = session_factory
        self._reader = EventReader(listener.dsn)
        self._subscribers: list[EventHandler] = []
        self._wake = asyncio.Event()
        self.last_id = 0
        self.delivered = 0
        self.read_limit = 500
        listener.on(events.CHANNEL, self._on_notify)
        listener.on_reconnect(self._on_reconnect)

    def subscribe(self, handler: EventHandler) -> None:
        self._subscribers.append(handler)

    async def start_from_now(self) -> None:
        async with self._sessions() as session:
            self.last_id = await events.last_event_id(session)

    def _on_notify(self, payload: str) -> None:
        """The payload is the highest id its transaction wrote. Ids follow commit order, so once
        that id is read, so is everything before it: a NOTIFY that a read has overtaken (it often
        arrives while the read it would trigger is already under way) costs no read of its own."""
        if payload.isdigit() and int(payload) <= self.last_id:
            return
        self._wake.set()

    async def _on_reconnect(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                try:
                    await self._drain()
                except Exception:
                    log.exception("event stream read failed; retrying")
                    await asyncio.sleep(0.5)
                    self._wake.set()
        finally:
            await self._reader.close()

    async def _drain(self) -> None:
        if not self._subscribers:
            return  # a process without the panel (e.g. `--only bot`) has nobody to read events for
        while True:
            batch = await self._reader.after(self.last_id, self.read_limit)
            if not batch:
                return
            self.last_id = batch[-1].id
            self.delivered += len(batch)
            for handler in self._subscribers:
                try:
                    await handler(batch)
                except Exception:
                    log.exception("event subscriber failed", extra={"last_event_id": self.last_id})
            if len(batch) < self.read_limit:
                return  # read up to the newest committed event; a later NOTIFY wakes the next read
