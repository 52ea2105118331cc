"""Migration 0026 (auto-assignment): existing queues stay manual, members keep their queues with no round
robin position yet, presence rows keep their heartbeat; downgrading drops the columns and the rows of
operators who had left (the old code deleted those at once)."""

import asyncpg

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests


async def test_queues_stay_manual_and_presence_keeps_who_left(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0025")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        queue = await conn.fetchval("SELECT id FROM queue WHERE slug = 'general'")
        present, gone = [await conn.fetchval(
            "INSERT INTO operator (email, password_hash, display_name, role) VALUES ($1, 'x', $1, 'operator') "
            "RETURNING id", email) for email in ("a@example.com", "b@example.com")]
        await conn.execute("INSERT INTO queue_member (queue_id, operator_id) VALUES ($1, $2)", queue, present)
        await conn.execute("INSERT INTO operator_presence (operator_id) VALUES ($1)", present)
        await upgrade(url, "0026")
        assert await conn.fetchval("SELECT bool_or(auto_assign) FROM queue") is False
        assert await conn.fetchval("SELECT last_assigned_at FROM queue_member") is None
        assert await conn.fetchval("SELECT left_at FROM operator_presence WHERE operator_id = $1", present) is None
        await conn.execute("INSERT INTO operator_presence (operator_id, left_at) VALUES ($1, now())", gone)
        await conn.execute("UPDATE queue SET auto_assign = true WHERE id = $1", queue)
        await downgrade(url, "0025")
        assert [r[0] for r in await conn.fetch("SELECT operator_id FROM operator_presence")] == [present]
        assert await conn.fetchval("SELECT count(*) FROM queue_member") == 1
        columns = {r[0] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name IN ('queue', 'queue_member')")}
        assert not columns & {"auto_assign", "last_assigned_at"}
    finally:
        await conn.close()
