"""Migration 0020 (kb search): articles from before it keep every value, get no example questions,
and are found by their tags; the word list is filled from them; downgrading keeps the articles."""

import asyncpg

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests


async def test_existing_articles_survive_and_are_found_by_their_tags(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0019")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("INSERT INTO article (slug, title, body, language, tags) VALUES "
                           "('delivery', 'Delivery times', 'Three to five days.', 'en', '[\"shipping\"]'), "
                           "('draft', 'Draft', 'secret words', 'en', '[]')")
        await conn.execute("UPDATE article SET published = false WHERE slug = 'draft'")
        await upgrade(url, "0020")
        rows = await conn.fetch("SELECT slug, title, body, tags, examples FROM article ORDER BY slug")
        assert [tuple(row) for row in rows] == [
            ("delivery", "Delivery times", "Three to five days.", '["shipping"]', "[]"),
            ("draft", "Draft", "secret words", "[]", "[]")]
        assert await conn.fetchval("SELECT slug FROM article WHERE search_vector @@ 'ship:A'::tsquery") == "delivery"
        words = {row["word"] for row in await conn.fetch("SELECT word FROM kb_word WHERE language = 'en'")}
        assert {"ship", "deliveri", "five"} <= words and "secret" not in words
        await conn.execute("UPDATE article SET examples = '[\"when will it come\"]' WHERE slug = 'delivery'")
        await conn.execute("INSERT INTO kb_synonym (language, terms) VALUES ('en', '[\"a\", \"b\"]')")
        await downgrade(url, "0019")
        rows = await conn.fetch("SELECT slug, tags FROM article ORDER BY slug")
        assert [tuple(row) for row in rows] == [("delivery", '["shipping"]'), ("draft", "[]")]
        found = await conn.fetchval("SELECT slug FROM article WHERE search_vector @@ 'deliveri:A'::tsquery")
        assert found == "delivery"
        assert await conn.fetchval("SELECT to_regclass('kb_word')") is None
    finally:
        await conn.close()
