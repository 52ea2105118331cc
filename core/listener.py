"""LISTEN on a connection of its own, reconnecting with backoff, and the event stream built on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import events
from core.db import database_unavailable
from core.event_reader import EventRead, EventReader, EventRecord

log = logging.getLogger(__name__)

STATUS = "listener"
EVENTS_STATUS = "events"
HOOK_TIMEOUT = 15.0  # a reconnect or lost-connection hook that hangs must not keep the listener away

NotifyHandler = Callable[[str], Awaitable[None] | None]
ReconnectHandler = Callable[[], Awaitable[None]]


class PgListener:
    """One LISTEN connection per process. After a drop it reconnects and calls the reconnect hooks,
    so consumers catch up on what was published while it was away."""

    def __init__(
        self, dsn: str, *, min_backoff: float = 0.1, max_backoff: float = 5.0, application_name: str = "desk-listener",
        status: MutableMapping[str, str] | None = None, connect_timeout: float = 5.0,
        hook_timeout: float = HOOK_TIMEOUT,
    ) -> None:
        self._dsn = dsn
        self._status = status if status is not None else {}
        self._connect_timeout = connect_timeout
        self._hook_timeout = hook_timeout
        self._handlers: dict[str, list[NotifyHandler]] = {}
        self._on_reconnect: list[ReconnectHandler] = []
        self._on_lost: list[ReconnectHandler] = []
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._application_name = application_name
        self._connected = asyncio.Event()
        self._wake = asyncio.Event()  # the run loop has work: a channel was added, or the connection is gone
        self._listening: set[str] = set()  # channels LISTENed to on the current connection
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
        """Add a handler; safe at any time. A channel added while connected is LISTENed to at once
        by the run loop (and on every reconnect): only that task uses the connection, since asyncpg
        refuses a second operation while one is in progress."""
        new = channel not in self._handlers
        self._handlers.setdefault(channel, []).append(handler)
        if new:
            self._wake.set()

    def on_reconnect(self, handler: ReconnectHandler) -> None:
        self._on_reconnect.append(handler)

    def on_lost(self, handler: ReconnectHandler) -> None:
        """Called once the connection is gone (the server may have restarted: pooled connections are
        likely dead too)."""
        self._on_lost.append(handler)

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def run(self) -> None:
        """Until stop(): connect, LISTEN, wait for the connection to drop, reconnect with backoff.
        Any failure is logged and retried; the loop only ends on stop()."""
        backoff = self._min_backoff
        first = True
        self._status[STATUS] = "starting"
        while not self._stopping:
            lost = asyncio.Event()
            try:
                self._conn = conn = await asyncpg.connect(
                    self._dsn, timeout=self._connect_timeout,
                    server_settings={"application_name": self._application_name},
                )
                conn.add_termination_listener(lambda _c, lost=lost: self._lose(lost))
                self._listening = set()
                await self._listen_all(conn)
                self._connected.set()
                self._status[STATUS] = "ok"
                if not first:
                    self.reconnects += 1
                    log.info("listener reconnected", extra={"reconnects": self.reconnects})
                first = False
                backoff = self._min_backoff
                await self._call_hooks(self._on_reconnect, "reconnect")
                await self._watch(conn, lost)
                if not self._stopping:
                    log.warning("listener connection lost; reconnecting")
            except Exception as exc:
                if not isinstance(exc, OSError | asyncpg.PostgresError | asyncpg.InterfaceError | TimeoutError):
                    log.exception("listener failed; reconnecting")
                elif not self._stopping and (self._connected.is_set() or backoff == self._min_backoff):
                    log.warning("listener connection lost", extra={"error": repr(exc)})
            finally:
                was_connected = self._connected.is_set()
                self._connected.clear()
                if not self._stopping:
                    self._status[STATUS] = "down"
                await self._close()
            if self._stopping:
                break
            if was_connected:
                await self._call_hooks(self._on_lost, "lost-connection")
            await asyncio.sleep(backoff + random.uniform(0, backoff / 2))
            backoff = min(backoff * 2, self._max_backoff)

    async def _call_hooks(self, hooks: list[ReconnectHandler], what: str) -> None:
        """A hook that fails or hangs is logged and cut off; it must not take the connection down."""
        for hook in list(hooks):
            try:
                await asyncio.wait_for(hook(), self._hook_timeout)
            except Exception:
                log.exception("listener %s hook failed", what)

    def _lose(self, lost: asyncio.Event) -> None:
        lost.set()
        self._wake.set()

    async def _listen_all(self, conn: asyncpg.Connection) -> None:
        """LISTEN to every channel not yet listened to, including ones added while this runs."""
        while pending := [channel for channel in list(self._handlers) if channel not in self._listening]:
            for channel in pending:
                await conn.add_listener(channel, self._dispatch)
                self._listening.add(channel)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("listener handler failed", exc_info=task.exception())

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Until loss: LISTEN to channels added meanwhile; a periodic ping finds a half-open socket
        that sends no termination."""
        while not self._stopping and not lost.is_set():
            self._wake.clear()
            await self._listen_all(conn)
            try:
                await asyncio.wait_for(self._wake.wait(), 5.0)
            except TimeoutError:
                if not lost.is_set() and not self._stopping:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), 5.0)

    def _dispatch(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        for handler in self._handlers.get(channel, []):
            try:
                result = handler(payload)
            except Exception:
                log.exception("listener handler failed", extra={"channel": channel})
                continue
            if asyncio.iscoroutine(result):
                self._spawn(result)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._status[STATUS] = "off"
        await self._close()


EventHandler = Callable[[list[EventRecord]], Awaitable[None]]

HELD_WARN_SECONDS = 3.0  # committed events held back this long: a warning naming the holder, state "delayed"
RECHECK_FIRST, RECHECK_MAX = 0.002, 0.25  # re-read while events are held (the holder may end without NOTIFY)
IDLE_READ_SECONDS = 2.0  # and now and then anyway: a publisher may die between its commit and its NOTIFY


class EventStream:
    """Reads events in id order after NOTIFY (or a reconnect) and hands them to subscribers.
    One reader at a time; a wake-up during a read triggers one more read, so nothing is missed.

    A read delivers only the events below the horizon (core.events). When it finds committed events
    held above it, the transaction holding the horizon may end without publishing (so without a
    NOTIFY): the stream reads again after 2 ms, then 4, 8, ... up to 250 ms until they are through
    (back to 2 ms whenever a read delivered something).
    Held longer than `HELD_WARN_SECONDS`, it logs a warning naming the holding backend and shows
    `delayed`; longer than `held_fail_after` (HEALTH_GRACE_SECONDS), `held`, a failing state."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], listener: PgListener,
                 status: MutableMapping[str, str] | None = None, held_fail_after: float = 5.0) -> None:
        self._sessions = session_factory
        self._reader = EventReader(listener.dsn)
        self._subscribers: list[EventHandler] = []
        self._wake = asyncio.Event()
        self._status = status if status is not None else {}
        self.last_id = 0
        self.delivered = 0
        self.read_limit = 500
        self.max_retry_seconds = 5.0
        self.held_warn_after = HELD_WARN_SECONDS
        self.held_fail_after = held_fail_after
        self.held_id: int | None = None  # the highest committed id the last read found held back
        self.held_warnings = 0
        self._held_mark: int | None = None  # the held id being timed, and since when
        self._held_since = 0.0
        self._held_warned = False
        self._recheck = RECHECK_FIRST
        self._progressed = False  # the last read delivered something
        listener.on(events.CHANNEL, self._on_notify)
        listener.on_reconnect(self._on_reconnect)

    def subscribe(self, handler: EventHandler) -> None:
        self._subscribers.append(handler)

    async def start_from_now(self) -> None:
        async with self._sessions() as session:
            self.last_id = await events.last_event_id(session)

    def _on_notify(self, _payload: str) -> None:
        """Sent after publishing commits (core.event_announcer), one for possibly many: read."""
        self._wake.set()

    async def _on_reconnect(self) -> None:
        self._wake.set()

    def held_seconds(self) -> float:
        """How long the oldest committed event seen held back has waited (0 when none is)."""
        return 0.0 if self._held_mark is None else time.monotonic() - self._held_since

    async def run(self) -> None:
        """Read after every wake-up; a failed read (the database is away) is retried with backoff
        from the same id, so nothing is skipped or delivered twice."""
        retry = 0.5
        self._status[EVENTS_STATUS] = "ok"
        try:
            while True:
                await self._next_wake()
                self._wake.clear()
                try:
                    await self._drain()
                except Exception as exc:
                    if self._status.get(EVENTS_STATUS) != "down":
                        log.warning("event stream read failed; retrying", exc_info=not database_unavailable(exc),
                                    extra={"last_event_id": self.last_id, "error": repr(exc)})
                    self._status[EVENTS_STATUS] = "down"
                    await self._wait_wake(retry)  # the listener's reconnect cuts the wait short
                    retry = min(retry * 2, self.max_retry_seconds)
                    self._wake.set()
                else:
                    if self._status.get(EVENTS_STATUS) == "down":
                        log.info("event stream reads again", extra={"last_event_id": self.last_id})
                    self._status[EVENTS_STATUS] = self._held_state()
                    retry = 0.5
        finally:
            await self._reader.close()

    async def _next_wake(self) -> None:
        """A NOTIFY or reconnect; while events are held, also a short timer (not a busy loop)."""
        if self.held_id is None:
            self._recheck = RECHECK_FIRST
            await self._wait_wake(IDLE_READ_SECONDS)  # a publisher may have died before its NOTIFY
            self._wake.set()
            return
        if self._progressed:  # held events go through one after another (busy, not stuck): look again soon
            self._recheck = RECHECK_FIRST
        await self._wait_wake(self._recheck)
        self._recheck = min(self._recheck * 2, RECHECK_MAX)
        self._wake.set()

    async def _wait_wake(self, seconds: float) -> None:
        """Until a wake-up or `seconds`. Not `asyncio.wait_for`: on Python 3.11 it can swallow a
        cancellation that arrives as the wait ends, and this runs every few milliseconds under load
        (a stream that missed its cancellation would never stop)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def _drain(self) -> None:
        if not self._subscribers:
            return  # a process without the panel (e.g. `--only bot`) has nobody to read events for
        self._progressed = False
        while True:
            read = await self._reader.read(self.last_id, self.read_limit)
            batch = read.events
            if batch:
                self._progressed = True
                self.last_id = batch[-1].id
                self.delivered += len(batch)
                for handler in self._subscribers:
                    try:
                        await handler(batch)
                    except Exception:
                        log.exception("event subscriber failed", extra={"last_event_id": self.last_id})
            if len(batch) < self.read_limit:
                await self._note_held(read)
                return  # read up to the horizon; a later NOTIFY (or the recheck timer) wakes the next read

    async def _note_held(self, read: EventRead) -> None:
        """Time the committed events waiting above the horizon; warn once per hold that lasts."""
        self.held_id = read.held_id
        if read.held_id is None:
            if self._held_warned:
                log.info("held events delivered", extra={"last_event_id": self.last_id})
            self._held_mark, self._held_warned = None, False
            return
        if self._held_mark is None or self.last_id >= self._held_mark:
            self._held_mark, self._held_since = read.held_id, time.monotonic()  # the ones timed went through
        if not self._held_warned and self.held_seconds() > self.held_warn_after:
            self._held_warned = True
            self.held_warnings += 1
            holder = await self._reader.holder(read.horizon_xid)
            log.warning(
                "events held back by a long write transaction",
                extra={"held_seconds": round(self.held_seconds(), 1), "last_event_id": self.last_id,
                       "held_event_id": read.held_id, "horizon_xid": read.horizon_xid,
                       "holder_pid": holder.pid if holder else None,
                       "holder_application_name": holder.application_name if holder else None,
                       "holder_state": holder.state if holder else None,
                       "holder_xact_seconds": round(holder.xact_seconds, 1)
                       if holder and holder.xact_seconds is not None else None},
            )

    def _held_state(self) -> str:
        held = self.held_seconds()
        if held > max(self.held_fail_after, self.held_warn_after):
            return "held"
        return "delayed" if held > self.held_warn_after else "ok"
