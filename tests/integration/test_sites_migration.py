"""Migration 0019 (sites): every store widget becomes a site named after its store with the same key,
origins, secret and look (pages embedding the key keep working); downgrading gives each store its
oldest site back as its widget and drops the sites with no store."""

import asyncpg

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests


async def test_store_widgets_become_sites_with_the_same_key(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0018")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        stores = [await conn.fetchval("INSERT INTO store (name) VALUES ($1) RETURNING id", name)
                  for name in ("Corner shop", "Bakery")]
        await conn.execute("DELETE FROM store_widget")  # 0017 made one per store: these are the shops' own
        for n, store in enumerate(stores):
            await conn.execute("INSERT INTO store_widget (store_id, key, origins, secret, greeting, color, hours) "
                               "VALUES ($1, $2, $3, $4, 'Hi', '#0f766e', 'Mon-Fri')", store, f"wk_{n}",
                               f'["https://shop{n}.example"]', f"ws_{n}")
        await upgrade(url, "0019")
        sites = await conn.fetch("SELECT name, key, origins, secret, greeting, color, hours, store_id, queue_id, "
                                 "prechat FROM site ORDER BY store_id")
        assert [tuple(row) for row in sites] == [
            ("Corner shop", "wk_0", '["https://shop0.example"]', "ws_0", "Hi", "#0f766e", "Mon-Fri", stores[0], None,
             "off"),
            ("Bakery", "wk_1", '["https://shop1.example"]', "ws_1", "Hi", "#0f766e", "Mon-Fri", stores[1], None, "off")]
        assert await conn.fetchval("SELECT to_regclass('store_widget')") is None
        # a second, newer site of the first store and the desk's own site: both are lost on downgrade
        await conn.execute("INSERT INTO site (name, key, secret, store_id, created_at) "
                           "VALUES ('Mobile', 'wk_m', 'ws_m', $1, now() + interval '1 hour')", stores[0])
        await conn.execute("INSERT INTO site (name, key, secret) VALUES ('Desk', 'wk_d', 'ws_d')")
        await downgrade(url, "0018")
        widgets = await conn.fetch("SELECT store_id, key, origins, secret, greeting, color, hours FROM store_widget "
                                   "ORDER BY store_id")
        assert [tuple(row) for row in widgets] == [
            (stores[0], "wk_0", '["https://shop0.example"]', "ws_0", "Hi", "#0f766e", "Mon-Fri"),
            (stores[1], "wk_1", '["https://shop1.example"]', "ws_1", "Hi", "#0f766e", "Mon-Fri")]
        assert await conn.fetchval("SELECT to_regclass('site')") is None
    finally:
        await conn.close()
