"""Stairway: every revision upgrades, downgrades and upgrades again; models and migrations agree."""

from datetime import UTC, datetime, timedelta

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import asyncpg_dsn, create_engine
from core.migrate import alembic_config, downgrade, upgrade
from core.models import Base
from tests.pg import PostgresForTests


def revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


async def test_stairway_up_down_up_for_every_revision(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    steps = revisions(url)
    assert steps[0] == "0001"
    previous = "base"
    for revision in steps:
        await upgrade(url, revision)
        await downgrade(url, previous)
        await upgrade(url, revision)
        previous = revision


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata)
        )
    await engine.dispose()
    assert diff == []


def test_there_is_one_head(database_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    assert len(script.get_heads()) == 1


async def test_tickets_from_before_the_sla_clocks_get_their_deadlines(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0005")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        queue = await conn.fetchval("SELECT id FROM queue WHERE slug = 'general'")
        created = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
        rows = {}
        for status, priority in (("open", "urgent"), ("waiting_customer", "low"), ("closed", "high")):
            contact = await conn.fetchval("INSERT INTO contact (name) VALUES ($1) RETURNING id", status)
            rows[status] = await conn.fetchval(
                "INSERT INTO ticket (contact_id, queue_id, status, priority, channel, subject, created_at, "
                "updated_at) VALUES ($1, $2, $3, $4, 'telegram', 'old', $5, $5) "
                "RETURNING id", contact, queue, status, priority, created)
        await upgrade(url, "head")
        found = {row["id"]: row for row in await conn.fetch(
            "SELECT id, frt_due_at - created_at AS frt, ttr_due_at - created_at AS ttr, sla_next_check_at "
            "FROM ticket")}
    finally:
        await conn.close()
    urgent, waiting, closed = found[rows["open"]], found[rows["waiting_customer"]], found[rows["closed"]]
    assert (urgent["frt"], urgent["ttr"]) == (timedelta(minutes=15), timedelta(hours=4))
    assert urgent["sla_next_check_at"] is not None
    assert (waiting["frt"], waiting["ttr"]) == (timedelta(hours=8), None)  # paused while waiting
    assert (closed["frt"], closed["ttr"], closed["sla_next_check_at"]) == (None, None, None)
