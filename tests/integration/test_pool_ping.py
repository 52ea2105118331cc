"""The pool's ping of idle connections (core.db.ping_after_idle): a connection that died while idle fails
its ping on checkout and is replaced; the replacement (a record SQLAlchemy reuses, its info cleared) is
used without a second ping; a connection back from use is pinged again once idle."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import create_async_engine

from core.db import async_url, asyncpg_dsn, ping_after_idle


async def test_a_dead_idle_connection_is_replaced_and_its_replacement_is_not_pinged(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_async_engine(async_url(database_url), pool_size=1, max_overflow=0)
    ping_after_idle(engine, 0.0)
    pings: list[bool] = []
    real_ping = AsyncAdapt_asyncpg_connection.ping

    def counted_ping(self: AsyncAdapt_asyncpg_connection) -> None:
        try:
            real_ping(self)
        except Exception:
            pings.append(False)
            raise
        pings.append(True)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted_ping)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
        admin = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()

        async with engine.connect() as conn:
            second = await conn.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
        assert pings == [False], "the dead connection failed its ping; the new one was used without one"

        async with engine.connect() as conn:  # back from use: idle again, pinged again, alive
            assert await conn.scalar(text("SELECT pg_backend_pid()")) == second
        assert pings == [False, True]
    finally:
        await engine.dispose()
