"""Migration 0017 (store widgets): stores from before it each get a widget with a fresh key and no
allowed site (nothing embeds it until an admin says where); downgrading leaves the stores as they were."""

import asyncpg

from core.db import asyncpg_dsn
from core.migrate import downgrade, upgrade
from tests.pg import PostgresForTests


async def test_existing_stores_get_a_closed_widget_each(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0015")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        stores = [await conn.fetchval("INSERT INTO store (name) VALUES ($1) RETURNING id", name)
                  for name in ("Corner shop", "Bakery")]
        await upgrade(url, "0017")
        widgets = {row["store_id"]: row for row in await conn.fetch("SELECT store_id, key, origins FROM store_widget")}
        assert sorted(widgets) == sorted(stores)
        keys = [widgets[store]["key"] for store in stores]
        assert all(key.startswith("wk_") and len(key) > 20 for key in keys) and len(set(keys)) == 2
        assert all(widgets[store]["origins"] == "[]" for store in stores)
        await downgrade(url, "0015")
        assert [row["name"] for row in await conn.fetch("SELECT name FROM store ORDER BY id")] == [
            "Corner shop", "Bakery"]
        assert await conn.fetchval("SELECT to_regclass('store_widget')") is None
    finally:
        await conn.close()
