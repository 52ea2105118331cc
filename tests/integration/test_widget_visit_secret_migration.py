"""Migration 0018 (widget visit and secret): identities from before it keep every value and have no
visit; widgets from before it keep key and sites and get a secret each; downgrading drops only the columns."""

import asyncpg

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests


async def test_existing_identities_survive_with_no_visit(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0017")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        contact = await conn.fetchval("INSERT INTO contact (name, language) VALUES ('Anna', 'en') RETURNING id")
        for channel, external_id in (("telegram", "42"), ("web", "1" * 24)):
            await conn.execute("INSERT INTO contact_identity (contact_id, channel, external_id, display_name) "
                               "VALUES ($1, $2, $3, 'Anna')", contact, channel, external_id)
        stores = [await conn.fetchval("INSERT INTO store (name) VALUES ($1) RETURNING id", name)
                  for name in ("Corner shop", "Bakery")]
        for n, store in enumerate(stores):
            await conn.execute("INSERT INTO store_widget (store_id, key, origins) VALUES ($1, $2, $3)", store,
                               f"wk_{n}", '["https://shop.example"]')
        await upgrade(url, "0018")
        widgets = await conn.fetch("SELECT key, origins, secret FROM store_widget ORDER BY store_id")
        assert [(w["key"], w["origins"]) for w in widgets] == [("wk_0", '["https://shop.example"]'),
                                                                ("wk_1", '["https://shop.example"]')]
        secrets = [w["secret"] for w in widgets]
        assert all(s.startswith("ws_") and len(s) == 59 for s in secrets) and len(set(secrets)) == 2
        rows = await conn.fetch("SELECT channel, external_id, display_name, visit FROM contact_identity ORDER BY id")
        assert [tuple(row) for row in rows] == [("telegram", "42", "Anna", None), ("web", "1" * 24, "Anna", None)]
        await conn.execute("UPDATE contact_identity SET visit = '{\"url\": \"https://shop.example/\"}' "
                           "WHERE channel = 'web'")
        await downgrade(url, "0017")
        rows = await conn.fetch("SELECT channel, external_id FROM contact_identity ORDER BY id")
        assert [tuple(row) for row in rows] == [("telegram", "42"), ("web", "1" * 24)]
        assert [row["key"] for row in await conn.fetch("SELECT key FROM store_widget ORDER BY store_id")] == [
            "wk_0", "wk_1"]
    finally:
        await conn.close()
