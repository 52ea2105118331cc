"""Migration 0021 (kb misses): existing votes keep every value with an empty question key (they adjust
nothing); the misses table takes rows; downgrading keeps the votes and drops the misses."""

import asyncpg

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests


async def test_votes_survive_and_misses_come_and_go(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0020")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        article = await conn.fetchval("INSERT INTO article (slug, title, body, language) VALUES "
                                      "('delivery', 'Delivery times', 'Three days.', 'en') RETURNING id")
        contact = await conn.fetchval("INSERT INTO contact (name) VALUES ('Anna') RETURNING id")
        await conn.execute("INSERT INTO article_feedback (article_id, contact_id, helpful, query) "
                           "VALUES ($1, $2, true, 'when')", article, contact)
        await upgrade(url, "0021")
        row = await conn.fetchrow("SELECT helpful, query, question_key FROM article_feedback")
        assert tuple(row) == (True, "when", "")
        await conn.execute("INSERT INTO kb_miss (language, question, question_key, outcome, article_id) "
                           "VALUES ('en', 'late?', 'late', 'handoff', $1)", article)
        try:
            await conn.execute("INSERT INTO kb_miss (language, question, question_key, outcome) "
                               "VALUES ('en', 'x', 'x', 'other')")
            raise AssertionError("an unknown outcome was stored")
        except asyncpg.CheckViolationError:
            pass
        await conn.execute("DELETE FROM article")
        assert await conn.fetchval("SELECT article_id FROM kb_miss") is None  # the question stays
        await downgrade(url, "0020")
        assert await conn.fetchval("SELECT to_regclass('kb_miss')") is None
        assert await conn.fetchval("SELECT count(*) FROM article_feedback") == 0  # went with its article
    finally:
        await conn.close()
