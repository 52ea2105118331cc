"""The test run's PostgreSQL: TEST_DATABASE_URL, or an embedded server in a temporary directory."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from core.db import async_url, asyncpg_dsn
from core.embedded_pg import EmbeddedPostgres, remove_cluster


class PostgresForTests:
    """One server for the run; `new_database()` gives a fresh, migrated database by cloning a template."""

    def __init__(self) -> None:
        self._embedded: EmbeddedPostgres | None = None
        self._tmp: Path | None = None
        self.admin_url = ""
        self._created: list[str] = []

    def start(self) -> None:
        url = os.environ.get("TEST_DATABASE_URL")
        if url:
            self.admin_url = async_url(url)
            return
        self._tmp = Path(tempfile.mkdtemp(prefix="desk-test-pg-"))
        self._embedded = EmbeddedPostgres(self._tmp / "pg")
        self.admin_url = self._embedded.start()

    def url_for(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    async def create_database(self, template: str | None = None) -> str:
        name = f"desk_test_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(asyncpg_dsn(self.admin_url))
        try:
            clause = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{clause}')
        finally:
            await conn.close()
        self._created.append(name)
        return name

    async def lock_out(self, name: str, *, allowed: bool) -> None:
        """A real outage of one database: new connections refused (ALLOW_CONNECTIONS false) and every
        existing one ended; `allowed=True` lets clients in again."""
        conn = await asyncpg.connect(asyncpg_dsn(self.admin_url))
        try:
            await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
            if not allowed:
                await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                   " WHERE datname = $1 AND pid <> pg_backend_pid()", name)
        finally:
            await conn.close()

    async def drop_created(self) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(self.admin_url))
        try:
            for name in reversed(self._created):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        if os.environ.get("TEST_DATABASE_URL"):
            asyncio.run(self.drop_created())
        if self._embedded is not None:
            self._embedded.stop()
        if self._tmp is not None:
            remove_cluster(self._tmp)
