from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.channels import ChannelRegistry
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.migrate import upgrade
from core.models import Base
from core.settings import load_settings
from desk import build_channels
from tests.pg import PostgresForTests

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
pytest_plugins = ["tests.botapi.plugin", "tests.browser"]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Rows the migrations seed; kept when a test's tables are wiped, and the queues put back as seeded
# (an admin test, or the API fuzzer, may rename, reorder or hide one; later tests read their order).
SEEDED_TABLES = {"queue", "alembic_version"}
_SEEDED_QUEUES: list[dict[str, object]] = []


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresForTests]:
    server = PostgresForTests()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def database_url(pg_server: PostgresForTests) -> str:
    """A database migrated to head for the whole run; tests wipe their rows after themselves."""
    name = await pg_server.create_database()
    url = pg_server.url_for(name)
    await upgrade(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        _SEEDED_QUEUES[:] = [dict(row) for row in await conn.fetch("SELECT * FROM queue ORDER BY id")]
    finally:
        await conn.close()
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def dsn(database_url: str) -> str:
    return asyncpg_dsn(database_url)


@pytest.fixture(scope="session")
def channels() -> ChannelRegistry:
    """The channel registry `desk.py` builds (default settings)."""
    return build_channels(load_settings(_env_file=None))


@pytest.fixture
async def sessions(engine: AsyncEngine, channels: ChannelRegistry) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    yield create_session_factory(engine, channels=channels)
    await wipe(engine)


async def wipe(engine: AsyncEngine) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in SEEDED_TABLES]
    quoted = ", ".join(f'"{name}"' for name in tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        if _SEEDED_QUEUES:
            await conn.execute(text("DELETE FROM queue WHERE NOT (id = ANY(:ids))"),
                               {"ids": [row["id"] for row in _SEEDED_QUEUES]})
            columns = [name for name in _SEEDED_QUEUES[0] if name != "id"]
            await conn.execute(text(f"UPDATE queue SET {', '.join(f'{c} = :{c}' for c in columns)} WHERE id = :id"),
                               _SEEDED_QUEUES)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
