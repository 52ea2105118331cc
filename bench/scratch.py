"""A database of its own for one benchmark run: on `BENCH_DATABASE_URL`'s server when set, else on an
embedded PostgreSQL started for the run; dropped (and the embedded server removed) afterwards unless
`keep`."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from core.db import asyncpg_dsn
from core.embedded_pg import EmbeddedPostgres, remove_cluster


async def create(admin_url: str, prefix: str) -> str:
    name = f"desk_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop(admin_url: str, url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def scratch_database(prefix: str, *, keep: bool = False) -> AsyncIterator[str]:
    """The URL of an empty database named `desk_bench_<prefix>_…`."""
    embedded = None
    admin_url = os.environ.get("BENCH_DATABASE_URL")
    if not admin_url:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix=f"desk-bench-{prefix}-")) / "pg")
        admin_url = embedded.start()
    url = await create(admin_url, prefix)
    try:
        yield url
    finally:
        if keep:
            print(f"kept {url}")
        elif embedded is None:
            await drop(admin_url, url)
        if embedded is not None:
            embedded.stop()
            if not keep:
                remove_cluster(embedded.pgdata.parent)
