"""Migration 0029 (event ids from xids): events written before it keep their ids and sort below every
new one; a database whose old ids would not is refused with an explanation; downgrade goes back to the
sequence under the lock, continuing above the newest id."""

import asyncpg
import pytest

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests

HAND_OVER = "INSERT INTO event_batch (rows) VALUES ($1::jsonb)"


def rows(*types: str) -> str:
    return "[" + ",".join(f'{{"type": "{t}", "data": {{}}, "audience": "staff"}}' for t in types) + "]"


async def test_old_events_sort_below_new_ones_and_downgrade_continues_the_sequence(
    pg_server: PostgresForTests,
) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0028")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(HAND_OVER, rows("old.one", "old.two"))
        old_ids = [r["id"] for r in await conn.fetch("SELECT id FROM event ORDER BY id")]
        await upgrade(url, "0029")
        async with conn.transaction():
            xid = int(await conn.fetchval("SELECT pg_current_xact_id()::text::bigint"))
            await conn.execute(HAND_OVER, rows("new.one", "new.two"))
            await conn.execute(HAND_OVER, rows("new.three"))  # a second batch continues the ordinals
        found = await conn.fetch("SELECT id, type FROM event ORDER BY id")
        assert [r["type"] for r in found] == ["old.one", "old.two", "new.one", "new.two", "new.three"]
        assert [r["id"] for r in found] == [*old_ids, xid << 20, (xid << 20) + 1, (xid << 20) + 2]
        assert await conn.fetchval("SELECT count(*) FROM event_batch") == 0
        with pytest.raises(asyncpg.NotNullViolationError):  # no default: a direct insert would sort below readers
            await conn.execute("INSERT INTO event (type, data) VALUES ('direct', '{}')")

        await downgrade(url, "0028")
        await conn.execute(HAND_OVER, rows("after.downgrade"))
        assert await conn.fetchval("SELECT id FROM event WHERE type = 'after.downgrade'") == (xid << 20) + 3
    finally:
        await conn.close()


async def test_upgrade_refuses_when_old_ids_reach_the_new_ones(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0028")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("SELECT setval('event_id_seq', 1::bigint << 50)")  # as if 2^50 events had been published
        await conn.execute(HAND_OVER, rows("huge"))
        with pytest.raises(Exception, match="new events would sort below old ones"):
            await upgrade(url, "0029")
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == "0028"
    finally:
        await conn.close()
