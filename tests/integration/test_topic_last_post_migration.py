"""Migration 0027 (topic last post): topics from before it keep every value and have no last post (their
next lines start a new post); downgrading drops only the columns."""

import asyncpg

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests


async def test_existing_topics_survive_with_no_last_post(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0026")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        contact = await conn.fetchval("INSERT INTO contact (name, language) VALUES ('Anna', 'en') RETURNING id")
        queue = await conn.fetchval("SELECT id FROM queue WHERE slug = 'general'")
        ticket = await conn.fetchval("INSERT INTO ticket (contact_id, channel, queue_id, subject) "
                                     "VALUES ($1, 'telegram', $2, 'late parcel') RETURNING id", contact, queue)
        await conn.execute("INSERT INTO ticket_topic (ticket_id, chat_id, thread_id, state, card_message_id, "
                           "shown_up_to) VALUES ($1, -1001, 7, 'open', 8, 42)", ticket)
        await upgrade(url, "0027")
        row = await conn.fetchrow("SELECT chat_id, thread_id, state, card_message_id, shown_up_to, last_post_id, "
                                  "last_post_from, last_post_at FROM ticket_topic")
        assert tuple(row) == (-1001, 7, "open", 8, 42, None, None, None)
        await conn.execute("UPDATE ticket_topic SET last_post_id = 9, last_post_from = 40, last_post_at = now()")
        await downgrade(url, "0026")
        row = await conn.fetchrow("SELECT thread_id, shown_up_to FROM ticket_topic")
        assert tuple(row) == (7, 42)
        columns = await conn.fetch("SELECT column_name FROM information_schema.columns "
                                   "WHERE table_name = 'ticket_topic' AND column_name LIKE 'last_post%'")
        assert columns == []
    finally:
        await conn.close()
