"""Migration 0028 (panel at scale): the inbox and search indexes are built valid on a desk with rows,
the search and the dashboard's day of operator replies read them (no sequential scan of message), and
the downgrade drops them."""

import asyncpg

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests

INDEXES = {"ix_ticket_updated_id", "ix_ticket_assignee_updated", "ix_message_body_fts", "ix_message_body_trgm",
           "ix_note_body_fts", "ix_contact_name_trgm", "ix_ticket_subject_fts", "ix_ticket_unread_live",
           "ix_message_operator_created", "ix_ticket_rating_created_at"}


async def test_indexes_are_built_used_and_dropped(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0027")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        contact = await conn.fetchval("INSERT INTO contact (name) VALUES ('Olga') RETURNING id")
        queue = await conn.fetchval("SELECT min(id) FROM queue")
        ticket = await conn.fetchval("INSERT INTO ticket (contact_id, queue_id, channel, subject) "
                                     "VALUES ($1, $2, 'telegram', 'Hi') RETURNING id", contact, queue)
        await conn.execute("INSERT INTO message (ticket_id, author_kind, body) VALUES ($1, 'customer', $2)",
                           ticket, "Курьер не приехал")
        await upgrade(url, "0028")
        valid = {row["relname"] for row in await conn.fetch(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indisvalid")}
        assert valid >= INDEXES
        await conn.execute("SET enable_seqscan = off")  # a one-row table: ask whether the index can serve
        plan = "\n".join(row[0] for row in await conn.fetch(
            "EXPLAIN SELECT ticket_id FROM message "
            "WHERE to_tsvector('russian'::regconfig, body) @@ websearch_to_tsquery('russian', 'курьера')"))
        assert "ix_message_body_fts" in plan
        assert await conn.fetchval(
            "SELECT ticket_id FROM message WHERE to_tsvector('russian'::regconfig, body) "
            "@@ websearch_to_tsquery('russian', 'курьера')") == ticket
        plan = "\n".join(row[0] for row in await conn.fetch(  # the dashboard's replies of a day
            "EXPLAIN SELECT operator_id, count(*) FROM message WHERE author_kind = 'operator' "
            "AND operator_id IS NOT NULL AND created_at >= now() - interval '1 day' AND created_at < now() GROUP BY 1"))
        assert "ix_message_operator_created" in plan
        await downgrade(url, "0027")
        left = {row["indexname"] for row in await conn.fetch("SELECT indexname FROM pg_indexes")}
        assert not INDEXES & left
    finally:
        await conn.close()
