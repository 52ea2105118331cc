"""Stairway: every revision upgrades, downgrades and upgrades again; models and migrations agree."""

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

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


async def test_telegram_columns_move_into_channel_refs_and_back(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0012")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        queue = await conn.fetchval("SELECT id FROM queue WHERE slug = 'general'")
        contact = await conn.fetchval("INSERT INTO contact (name) VALUES ('Anna') RETURNING id")
        tickets = {channel: await conn.fetchval(
            "INSERT INTO ticket (contact_id, queue_id, channel, subject) VALUES ($1, $2, $3, 'old') RETURNING id",
            contact, queue, channel) for channel in ("telegram", "email")}

        async def message(channel: str, external_id: str | None, meta: str = "{}", author: str = "customer") -> int:
            return int(await conn.fetchval(
                "INSERT INTO message (ticket_id, author_kind, body, meta, external_key, external_id) "
                "VALUES ($1, $2, 'hi', $3::jsonb, $4, $5) RETURNING id",
                tickets[channel], author, meta, f"key:{channel}:{external_id}:{author}", external_id))

        plain = await message("telegram", "501")
        album = await message("telegram", "601", '{"media_group_id": "g1", "telegram_message_ids": [601, 602]}')
        sent = await message("telegram", "700", author="operator")
        mailed = await message("email", "<m1@example.com>", '{"email": {"message_id": "<m1@example.com>"}}')
        quiet = await message("telegram", None, '{"line": "rated"}', author="system")
        cached = await conn.fetchval(
            "INSERT INTO attachment (message_id, file_name, content_type, size, telegram_file_id) "
            "VALUES ($1, 'a.jpg', 'image/jpeg', 3, 'AgACfile') RETURNING id", album)
        bare = await conn.fetchval(
            "INSERT INTO attachment (message_id, file_name, content_type, size, storage_key) "
            "VALUES ($1, 'b.pdf', 'application/pdf', 4, 'ab/cd') RETURNING id", mailed)
        messages_before = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM message")}
        files_before = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM attachment")}

        await upgrade(url, "0014")
        messages = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM message")}
        files = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM attachment")}

        await downgrade(url, "0012")
        messages_again = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM message")}
        files_again = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM attachment")}
    finally:
        await conn.close()

    refs = {row_id: json.loads(row.pop("channel_refs")) for row_id, row in messages.items()}
    assert refs == {plain: {"telegram": ["501"]}, album: {"telegram": ["601", "602"]}, sent: {"telegram": ["700"]},
                    mailed: {"email": ["<m1@example.com>"]}, quiet: {}}
    assert json.loads(messages[album]["meta"]) == {"media_group_id": "g1"}
    for row_id, row in messages_before.items():  # nothing else changed
        expected = {k: v for k, v in row.items() if k not in ("external_id", "meta")}
        assert {k: v for k, v in messages[row_id].items() if k != "meta"} == expected
        if row_id != album:
            assert messages[row_id]["meta"] == row["meta"]
    assert {row_id: json.loads(row.pop("channel_refs")) for row_id, row in files.items()} == {
        cached: {"telegram": "AgACfile"}, bare: {}}
    assert files == {row_id: {k: v for k, v in row.items() if k != "telegram_file_id"}
                     for row_id, row in files_before.items()}

    # Down again: the columns come back as they were.
    assert {i: {**r, "meta": json.loads(r["meta"])} for i, r in messages_again.items()} == {
        i: {**r, "meta": json.loads(r["meta"])} for i, r in messages_before.items()}
    assert files_again == files_before


async def test_tickets_keep_their_channels_when_any_adapter_may_name_one(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0012")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        queue = await conn.fetchval("SELECT id FROM queue WHERE slug = 'general'")
        before = {}
        for channel in ("telegram", "email", "web"):
            contact = await conn.fetchval("INSERT INTO contact (name) VALUES ($1) RETURNING id", channel)
            before[await conn.fetchval(
                "INSERT INTO ticket (contact_id, queue_id, status, priority, channel, subject) "
                "VALUES ($1, $2, 'open', 'medium', $3, 'old') RETURNING id", contact, queue, channel)] = channel
        await upgrade(url, "0015")
        after = {row["id"]: row["channel"] for row in await conn.fetch("SELECT id, channel FROM ticket")}
        contact = await conn.fetchval("INSERT INTO contact (name) VALUES ('widget') RETURNING id")
        widget = await conn.fetchval("INSERT INTO ticket (contact_id, queue_id, status, priority, channel, subject) "
                                     "VALUES ($1, $2, 'open', 'medium', 'widget', 'new') RETURNING id", contact, queue)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE ticket SET channel = 'Not A Name!' WHERE id = $1", widget)
        with pytest.raises(DBAPIError, match="tickets of other channels"):  # no place for the widget ticket
            await downgrade(url, "0012")
        await conn.execute("DELETE FROM ticket WHERE id = $1", widget)
        await downgrade(url, "0012")
    finally:
        await conn.close()
    assert after == before


async def test_a_blocked_contacts_telegram_identities_become_blocked(pg_server: PostgresForTests) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0012")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        when = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

        async def contact(name: str, blocked: bool, telegram: int | None, email: str | None) -> int:
            return int(await conn.fetchval(
                "INSERT INTO contact (name, blocked, blocked_at, telegram_user_id, email) VALUES ($1, $2, $3, $4, $5) "
                "RETURNING id", name, blocked, when if blocked else None, telegram, email))

        ann = await contact("Ann", True, 601, None)  # blocked the bot, Telegram only
        cy = await contact("Cy", True, 602, "cy@example.com")  # blocked the bot, reachable by mail
        bob = await contact("Bob", False, None, "bob@example.com")
        dan = await contact("Dan", False, 603, None)
        await upgrade(url, "0016")
        rows = await conn.fetch("SELECT contact_id, channel, blocked, blocked_at FROM contact_identity")
        identities = {(r["contact_id"], r["channel"]): (r["blocked"], r["blocked_at"]) for r in rows}
        assert identities == {
            (ann, "telegram"): (True, when), (cy, "telegram"): (True, when), (cy, "email"): (False, None),
            (bob, "email"): (False, None), (dan, "telegram"): (False, None),
        }
        contacts = {r["id"]: r["blocked"] for r in await conn.fetch("SELECT id, blocked FROM contact")}
        assert contacts == {ann: True, cy: False, bob: False, dan: False}  # blocked: every identity is
        await downgrade(url, "0015")
        contacts = {r["id"]: (r["blocked"], r["blocked_at"]) for r in await conn.fetch("SELECT * FROM contact")}
        assert contacts == {ann: (True, when), cy: (True, when), bob: (False, None), dan: (False, None)}
    finally:
        await conn.close()
