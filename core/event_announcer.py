"""NOTIFY after a publishing commit, from outside the transaction.

PostgreSQL serialises the commits of transactions that issued NOTIFY: each takes a database-wide lock
in its COMMIT and holds it until the commit is durable, so the notification queue follows commit
order. A NOTIFY inside every publishing transaction would thus put back the very queue migration 0029
removed (measured: 8 connections committing an INSERT with a NOTIFY reach a third of the commits/s of
the same INSERT without). So the trigger sends none; once a session's commit that published events has
returned, the publishing process sends `NOTIFY desk_events` on a connection of its own, in a
transaction with no xid and no flush, which holds that lock for microseconds.

The commits that end while a NOTIFY is on its way are covered by the next one: one NOTIFY may stand for
many commits. A process that dies between its commit and the NOTIFY leaves the events unannounced
until the next NOTIFY; every EventStream also reads after a reconnect and every `IDLE_READ_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "desk_events"
_NOTIFY = f"SELECT pg_notify('{CHANNEL}', '')"


class Announcer:
    """One per database and event loop: one connection, at most one NOTIFY in flight."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._pending = False
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def announce(self) -> None:
        self._pending = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self._pending:
            self._pending = False
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        self._dsn, timeout=5.0, server_settings={"application_name": "desk-event-announcer"})
                await self._conn.execute(_NOTIFY)
                self.sent += 1
            except Exception as exc:  # the readers still read after their reconnect and on their idle timer
                log.warning("event NOTIFY failed", extra={"error": repr(exc)})
                await self.close()
                return

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=2.0)


_announcers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Announcer]] = (
    weakref.WeakKeyDictionary())


def announcer(dsn: str) -> Announcer:
    per_loop = _announcers.setdefault(asyncio.get_running_loop(), {})
    if dsn not in per_loop:
        per_loop[dsn] = Announcer(dsn)
    return per_loop[dsn]


def announce(dsn: str) -> None:
    """Announce committed events on the database at `dsn` (no-op outside an event loop)."""
    try:
        announcer(dsn).announce()
    except RuntimeError:  # no running loop: nobody in this process could have been waiting on it
        log.debug("no event loop to NOTIFY from")


async def close_all() -> None:
    """Close this loop's announcer connections (at shutdown)."""
    with contextlib.suppress(RuntimeError):
        for item in list(_announcers.pop(asyncio.get_running_loop(), {}).values()):
            if item._task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(item._task), 2.0)
            await item.close()
