"""Stairway: every revision upgrades, downgrades and upgrades again; models and migrations agree."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import create_engine
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
