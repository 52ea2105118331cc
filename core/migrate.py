"""Apply Alembic migrations from code (`desk migrate`, `desk run`, tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from core.db import async_url

MIGRATION_LOCK = 7_201_003
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(url: str, revision: str) -> None:
    await _run(url, lambda cfg: command.downgrade(cfg, revision))


async def _run(url: str, action) -> None:  # type: ignore[no-untyped-def]
    engine = create_async_engine(async_url(url))
    config = alembic_config(url)

    def go(connection) -> None:  # type: ignore[no-untyped-def]
        config.attributes["connection"] = connection
        action(config)

    async with engine.begin() as connection:
        # Several processes of a scaled deployment may start together: one migrates, the others wait
        # for it and then find nothing to do.
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.run_sync(go)
    await engine.dispose()


def run_upgrade_sync(url: str) -> None:
    asyncio.run(upgrade(url))
