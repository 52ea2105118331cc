"""The event stream's reads: one plain asyncpg connection and one prepared query, no ORM.

Every NOTIFY costs a read, so this path is kept short: an ORM session costs about 1.5 ms of CPU
per read, the prepared statement about 0.2 ms (see bench/bus_outbox.py).

One statement returns the deliverable events after an id (those below the horizon of its own snapshot,
see core.events) and whether committed events wait above the horizon, so the stream knows to look
again even if the transaction holding them back ends without a NOTIFY.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

ORDINAL_BITS = 20  # as core.events / migration 0029

_AFTER = f"""
WITH horizon AS MATERIALIZED (
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin)
SELECT horizon.xmin,
       (SELECT max(id) FROM event WHERE id >= horizon.xmin << {ORDINAL_BITS}) AS held,
       e.id, e.type, e.data, e.audience, e.ticket_id, e.store_id, e.created_at
FROM horizon
LEFT JOIN LATERAL (
    SELECT id, type, data, audience, ticket_id, store_id, created_at FROM event
    WHERE id > $1 AND id < horizon.xmin << {ORDINAL_BITS} ORDER BY id LIMIT $2) e ON true
ORDER BY e.id
"""

_HOLDER = """
SELECT pid, application_name, state, extract(epoch FROM now() - xact_start) AS xact_seconds
FROM pg_stat_activity WHERE backend_xid::text = ($1::bigint % 4294967296)::text
UNION ALL
SELECT NULL, 'prepared transaction ' || gid, 'prepared', extract(epoch FROM now() - prepared)
FROM pg_prepared_xacts WHERE transaction::text = ($1::bigint % 4294967296)::text
LIMIT 1
"""


@dataclass(frozen=True)
class EventRecord:
    """A published event as subscribers get it: the same attributes as the `Event` row."""

    id: int
    type: str
    data: dict[str, Any]
    audience: str
    ticket_id: int | None
    store_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class EventRead:
    """One read: the deliverable events, the horizon's xid, and the highest committed id held above it."""

    events: list[EventRecord]
    horizon_xid: int
    held_id: int | None


@dataclass(frozen=True)
class Holder:
    """The transaction at the horizon, as pg_stat_activity (or pg_prepared_xacts) shows it; not its
    query, which may carry customer data."""

    pid: int | None
    application_name: str
    state: str | None
    xact_seconds: float | None


class EventReader:
    """Connects on first use and again after a failure (the caller retries the read)."""

    def __init__(self, dsn: str, application_name: str = "desk-event-reader") -> None:
        self._dsn = dsn
        self._application_name = application_name
        self._conn: asyncpg.Connection | None = None

    async def after(self, last_id: int, limit: int) -> list[EventRecord]:
        return (await self.read(last_id, limit)).events

    async def read(self, last_id: int, limit: int) -> EventRead:
        rows = await self._fetch(_AFTER, last_id, limit)
        records = [
            EventRecord(r["id"], r["type"], json.loads(r["data"]), r["audience"], r["ticket_id"], r["store_id"],
                        r["created_at"])
            for r in rows if r["id"] is not None
        ]
        return EventRead(records, int(rows[0]["xmin"]), rows[0]["held"])

    async def holder(self, xid: int) -> Holder | None:
        """Who holds the horizon at `xid` (None if it has ended meanwhile)."""
        rows = await self._fetch(_HOLDER, xid)
        if not rows:
            return None
        r = rows[0]
        seconds = None if r["xact_seconds"] is None else float(r["xact_seconds"])
        return Holder(r["pid"], r["application_name"], r["state"], seconds)

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await self._connection()
        try:
            return list(await conn.fetch(query, *args))
        except BaseException:
            await self.close()
            raise

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._dsn, timeout=5.0, server_settings={"application_name": self._application_name}
            )
        return self._conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=2.0)
