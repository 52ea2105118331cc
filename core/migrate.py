"""Apply Alembic migrations from code (`desk migrate`, `desk run`, tests)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from core.db import async_url

log = logging.getLogger(__name__)

MIGRATION_LOCK = 7_201_003
LOCK_POLL_SECONDS = 0.5
APPLICATION_NAME = "desk-migrate"  # what pg_stat_activity shows for a migrating or waiting process
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str, script_location: Path = MIGRATIONS_DIR) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head", script_location: Path = MIGRATIONS_DIR) -> None:
    await _run(url, lambda cfg: command.upgrade(cfg, revision), script_location)


async def downgrade(url: str, revision: str, script_location: Path = MIGRATIONS_DIR) -> None:
    await _run(url, lambda cfg: command.downgrade(cfg, revision), script_location)


async def _run(url: str, action, script_location: Path) -> None:  # type: ignore[no-untyped-def]
    # NullPool: closing the connection ends the session, and with it the lock below, whatever happened.
    engine = create_async_engine(async_url(url), poolclass=NullPool,
                                 connect_args={"server_settings": {"application_name": APPLICATION_NAME}})
    config = alembic_config(url, script_location)

    def go(connection) -> None:  # type: ignore[no-untyped-def]
        config.attributes["connection"] = connection
        action(config)

    try:
        async with engine.connect() as connection:
            await _lock(connection)
            await connection.run_sync(go)
            await connection.commit()
            released = (await connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                                 {"key": MIGRATION_LOCK})).scalar()
            await connection.commit()
            if not released:  # another server session took it: a pooler between us and PostgreSQL
                log.error("the migration lock was taken on another server session: migrations need "
                          "DATABASE_DIRECT_URL (the server itself), not a transaction pooler")
    finally:
        await engine.dispose()


async def _lock(connection: AsyncConnection) -> None:
    """Several processes of a scaled deployment may start together: one migrates, the others wait for
    it and then find nothing to do. A session lock, not a transaction's: each revision commits on its
    own (env.py: transaction_per_migration) and one in `op.get_context().autocommit_block()` (CREATE
    INDEX CONCURRENTLY) commits mid-way, so a transaction's lock would be let go before the end. The
    others poll, outside any transaction, rather than wait in pg_advisory_lock: CREATE INDEX
    CONCURRENTLY waits for every transaction older than its snapshot, a waiter's included, and that
    waiter would wait for it: a deadlock. Needs the server itself (direct_url), never a pooler."""
    while True:
        got = (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK})).scalar()
        await connection.commit()
        if got:
            return
        await asyncio.sleep(LOCK_POLL_SECONDS)


def run_upgrade_sync(url: str) -> None:
    asyncio.run(upgrade(url))
