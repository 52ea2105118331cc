"""One poller per mailbox across all processes: a PostgreSQL advisory lock on its own connection,
released by PostgreSQL when the holder (or its connection) dies."""

from __future__ import annotations

import contextlib
import hashlib

import asyncpg


def lock_key(mailbox: str) -> int:
    return int.from_bytes(hashlib.sha256(f"desk-mailbox:{mailbox}".encode()).digest()[:8], "big", signed=True)


class MailboxLock:
    def __init__(self, dsn: str, mailbox: str) -> None:
        self.dsn = dsn
        self.key = lock_key(mailbox)
        self.held = False
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> MailboxLock:
        self._conn = await asyncpg.connect(self.dsn, timeout=10)
        self.held = bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key))
        return self

    async def check(self) -> None:
        """Raises when the lock's connection is gone (then the lock may be someone else's)."""
        assert self._conn is not None
        await self._conn.fetchval("SELECT 1", timeout=10)

    async def __aexit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        self.held = False
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
