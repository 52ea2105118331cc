"""An index built concurrently in a revision's autocommit block, run the way `desk migrate` runs them;
the other recipes of HACKING "Migrations" too.

A throwaway script directory (our env.py, two revisions) goes through core.migrate.upgrade: the
advisory lock still keeps a second migrating process waiting while the first has left its transaction
for CREATE INDEX CONCURRENTLY, and writers to the table are not held up by the build, where a plain
CREATE INDEX queues them behind it (the contrast case).
"""

import asyncio
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from core.db import asyncpg_dsn
from core.migrate import APPLICATION_NAME, LOCK_POLL_SECONDS, MIGRATIONS_DIR, downgrade, upgrade
from tests.pg import PostgresForTests

FIRST = '''
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("big", sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
                    sa.Column("x", sa.Integer(), nullable=False))
    op.execute("INSERT INTO big (x) SELECT g FROM generate_series(1, 20000) AS g")


def downgrade() -> None:
    op.drop_table("big")
'''

CONCURRENT = '''
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # a build cut short leaves an INVALID index behind; a second run starts afresh
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_big_x")
        op.create_index("ix_big_x", "big", ["x"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_big_x", table_name="big", postgresql_concurrently=True)
'''

PLAIN = '''
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_index("ix_big_x", "big", ["x"])


def downgrade() -> None:
    op.drop_index("ix_big_x", table_name="big")
'''


def script_dir(root: Path, second: str) -> Path:
    (root / "versions").mkdir(parents=True)
    shutil.copy(MIGRATIONS_DIR / "env.py", root / "env.py")
    (root / "versions" / "0001_big.py").write_text(FIRST)
    (root / "versions" / "0002_index.py").write_text(second)
    return root


async def stop(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def wait_for(conn: asyncpg.Connection, migrating: asyncio.Task[Any], sql: str, *args: object) -> None:
    for _ in range(200):
        if migrating.done():
            migrating.result()  # the migration's own error, if it failed
            raise AssertionError(f"the migration ended before: {sql} {args}")
        if await conn.fetchval(sql, *args):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {sql} {args}")


WAITING_BUILD = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock' AND query ILIKE $1")
# core.migrate's waiters poll pg_try_advisory_lock, idle between tries (a waiting statement would
# deadlock with CREATE INDEX CONCURRENTLY, which waits for every older transaction).
MIGRATORS = ("SELECT count(*) = 2 FROM pg_stat_activity WHERE datname = current_database() "
             f"AND application_name = '{APPLICATION_NAME}'")


@dataclass
class Migrating:
    """0001 applied, and `holder` inside a transaction that wrote to the table and has not ended."""

    url: str
    scripts: Path
    reader: asyncpg.Connection
    holder: Any  # the long writer's open transaction
    writer: asyncpg.Connection
    tasks: list[asyncio.Task[Any]]

    def upgrade(self) -> asyncio.Task[Any]:
        """`desk migrate` to head, as one more process would start it."""
        task = asyncio.create_task(upgrade(self.url, "head", self.scripts))
        self.tasks.append(task)
        return task


@asynccontextmanager
async def beside_a_long_writer(pg_server: PostgresForTests, root: Path, second: str) -> AsyncIterator[Migrating]:
    url = pg_server.url_for(await pg_server.create_database())
    scripts = script_dir(root, second)
    await upgrade(url, "0001", scripts)
    reader, holder, writer = [await asyncpg.connect(asyncpg_dsn(url)) for _ in range(3)]
    tasks: list[asyncio.Task[Any]] = []
    try:
        holder_tx = holder.transaction()
        await holder_tx.start()
        await holder.execute("INSERT INTO big (x) VALUES (-1)")
        yield Migrating(url, scripts, reader, holder_tx, writer, tasks)
    finally:
        await stop(tasks)
        for conn in (reader, holder, writer):
            await conn.close()


async def test_concurrent_index_runs_under_the_migration_lock_and_lets_writers_through(
        pg_server: PostgresForTests, tmp_path: Path) -> None:
    # CREATE INDEX CONCURRENTLY waits for the long writer's transaction to end.
    async with beside_a_long_writer(pg_server, tmp_path / "migrations", CONCURRENT) as m:
        first = m.upgrade()
        await wait_for(m.reader, first, WAITING_BUILD, "CREATE INDEX CONCURRENTLY%")
        # 0001 is committed already: the build has left its transaction.
        assert await m.reader.fetchval("SELECT version_num FROM alembic_version") == "0001"
        # A second process starting now waits for the migration lock, held across the commit.
        second = m.upgrade()
        await wait_for(m.reader, second, MIGRATORS)
        await asyncio.sleep(3 * LOCK_POLL_SECONDS)
        # Writers go on while the index waits and builds.
        await m.writer.execute("SET lock_timeout = '1s'")
        await m.writer.execute("INSERT INTO big (x) VALUES (-2)")
        await m.writer.execute("UPDATE big SET x = x WHERE id = 1")
        assert not first.done() and not second.done()
        await m.holder.commit()
        await asyncio.wait_for(asyncio.gather(first, second), 30)
        assert await m.reader.fetchval("SELECT version_num FROM alembic_version") == "0002"
        assert await m.reader.fetchval("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_big_x'::regclass")
        assert await m.reader.fetchval("SELECT count(*) FROM big") == 20002
        # Nothing is left holding the migration lock.
        assert await m.reader.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
        await downgrade(m.url, "0001", m.scripts)
        assert await m.reader.fetchval("SELECT to_regclass('ix_big_x')") is None
        assert await m.reader.fetchval("SELECT version_num FROM alembic_version") == "0001"


async def test_a_plain_index_build_queues_writers_behind_it(pg_server: PostgresForTests, tmp_path: Path) -> None:
    async with beside_a_long_writer(pg_server, tmp_path / "migrations", PLAIN) as m:
        first = m.upgrade()
        await wait_for(m.reader, first, WAITING_BUILD, "CREATE INDEX ix_big_x%")
        await m.writer.execute("SET lock_timeout = '1s'")
        with pytest.raises(asyncpg.LockNotAvailableError):
            await m.writer.execute("INSERT INTO big (x) VALUES (-2)")
        await m.holder.commit()
        await asyncio.wait_for(first, 30)
        assert await m.reader.fetchval("SELECT version_num FROM alembic_version") == "0002"


async def test_a_failing_revision_leaves_the_ones_before_it_applied_and_the_lock_free(
        pg_server: PostgresForTests, tmp_path: Path) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    scripts = script_dir(tmp_path / "migrations", CONCURRENT.replace('["x"]', '["no_such_column"]'))
    with pytest.raises(Exception, match="no_such_column"):
        await upgrade(url, "head", scripts)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == "0001"
        assert await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    finally:
        await conn.close()


RECIPES = '''
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table("owner", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO owner (id) VALUES (1)")
    op.add_column("big", sa.Column("owner_id", sa.Integer(), nullable=True))
    op.add_column("big", sa.Column("flag", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_foreign_key("fk_big_owner", "big", "owner", ["owner_id"], ["id"], postgresql_not_valid=True)
    op.create_check_constraint(op.f("ck_big_owner_set"), "big", "owner_id IS NOT NULL", postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("UPDATE big SET owner_id = 1 WHERE id <= 10000")
        op.execute("UPDATE big SET owner_id = 1 WHERE id > 10000")
        op.execute("ALTER TABLE big VALIDATE CONSTRAINT fk_big_owner")
        op.execute("ALTER TABLE big VALIDATE CONSTRAINT ck_big_owner_set")
    op.alter_column("big", "owner_id", nullable=False)  # lock-ok: the validated check spares the scan
    op.drop_constraint(op.f("ck_big_owner_set"), "big", type_="check")


def downgrade() -> None:
    op.drop_column("big", "flag")
    op.drop_column("big", "owner_id")
    op.drop_table("owner")
'''


async def test_the_hacking_recipes_for_a_foreign_key_and_a_not_null_column_apply(
        pg_server: PostgresForTests, tmp_path: Path) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    scripts = script_dir(tmp_path / "migrations", RECIPES)
    await upgrade(url, "head", scripts)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == "0002"
        assert await conn.fetchval("SELECT convalidated FROM pg_constraint WHERE conname = 'fk_big_owner'")
        assert await conn.fetchval("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'big'::regclass "
                                   "AND attname = 'owner_id'")
        assert await conn.fetchval("SELECT count(*) FROM pg_constraint WHERE conname = 'ck_big_owner_set'") == 0
        assert await conn.fetchval("SELECT count(*) FROM big WHERE owner_id = 1 AND NOT flag") == 20000
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute("INSERT INTO big (x, owner_id) VALUES (0, 2)")
        with pytest.raises(asyncpg.NotNullViolationError):
            await conn.execute("INSERT INTO big (x) VALUES (0)")
    finally:
        await conn.close()


async def test_a_migrating_process_killed_mid_build_is_taken_over_by_the_next(
        pg_server: PostgresForTests, tmp_path: Path) -> None:
    """kill -9 of `desk migrate` while it builds: its server session lives on until the statement ends
    (PostgreSQL notices the lost client only then), keeping the lock; the next process waits, then
    runs the revision again from the start."""
    url = pg_server.url_for(await pg_server.create_database())
    scripts = script_dir(tmp_path / "migrations", CONCURRENT)
    await upgrade(url, "0001", scripts)
    reader, holder = [await asyncpg.connect(asyncpg_dsn(url)) for _ in range(2)]
    tasks: list[asyncio.Task[Any]] = []
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import asyncio, sys; from pathlib import Path; from core.migrate import upgrade; "
        "asyncio.run(upgrade(sys.argv[1], 'head', Path(sys.argv[2])))", url, str(scripts),
        cwd=Path(__file__).resolve().parents[2])
    try:
        holder_tx = holder.transaction()
        await holder_tx.start()
        await holder.execute("INSERT INTO big (x) VALUES (-1)")
        watcher = asyncio.create_task(process.wait())
        tasks.append(watcher)
        await wait_for(reader, watcher, WAITING_BUILD, "CREATE INDEX CONCURRENTLY%")
        os.kill(process.pid, signal.SIGKILL)
        await watcher
        nextone = asyncio.create_task(upgrade(url, "head", scripts))
        tasks.append(nextone)
        await asyncio.sleep(4 * LOCK_POLL_SECONDS)
        assert not nextone.done()
        holding = await reader.fetchval(
            "SELECT a.query FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted")
        assert holding.startswith("CREATE INDEX CONCURRENTLY"), "the killed process's session holds the lock"
        await holder_tx.commit()
        await asyncio.wait_for(nextone, 30)
        assert await reader.fetchval("SELECT version_num FROM alembic_version") == "0002"
        assert await reader.fetchval("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_big_x'::regclass")
        assert await reader.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    finally:
        if process.returncode is None:
            process.kill()
        await stop(tasks)
        for conn in (reader, holder):
            await conn.close()
