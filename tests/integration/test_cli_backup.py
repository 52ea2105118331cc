"""`desk backup FILE` and `desk restore FILE` as an admin runs them: the real process against real
databases. A desk with tickets, files and orders goes into one archive and comes back in an empty
database with every row of every table equal and every file's bytes equal; a desk that is not empty
is refused unless --force. With FILE_STORE=folder the files travel in the archive."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.channels import ChannelRegistry
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.i18n import Translator, load_translator
from core.migrate import upgrade
from core.models import Ticket
from core.orders.placing import place_order
from core.services import conversations
from core.services.conversations import Inbound, NewAttachment
from core.storage import AttachmentStore, FolderStore, StoredFile
from core.storage_db import DatabaseStore
from tests.integration.orders.conftest import make_shop
from tests.integration.test_cli_accounts import desk
from tests.pg import PostgresForTests
from tests.web.harness import customer_ticket

pytestmark = pytest.mark.slow


@pytest.fixture
def translator() -> Translator:
    return load_translator()


@pytest.fixture
async def source(pg_server: PostgresForTests, channels: ChannelRegistry
                 ) -> AsyncIterator[tuple[str, async_sessionmaker[AsyncSession]]]:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url)
    engine = create_engine(url, pool_size=2)
    yield url, create_session_factory(engine, channels=channels)
    await engine.dispose()


async def fill(sessions: async_sessionmaker[AsyncSession], store: AttachmentStore, translator: Translator
               ) -> list[StoredFile]:
    """Tickets with messages and files, a shop with an order."""
    files = [await store.save(os.urandom(size), f"f{size}.bin", "application/octet-stream")
             for size in (10, 300_000, 700_000)]
    ticket_id, _ = await customer_ticket(sessions, user_id=8101)
    await customer_ticket(sessions, user_id=8102, name="Bob", body="Where is my order?")
    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await conversations.customer_wrote(session, ticket, Inbound(
            body="the files", kind="file", external_key="tg:8101:9",
            attachments=tuple(NewAttachment(f"f{f.size}.bin", "application/octet-stream", f.size, f.sha256,
                                            f.storage_key) for f in files)))
    async with sessions() as session, session.begin():
        shop = await make_shop(session)
        await place_order(session, translator, shop.delivery_draft(), shop.customer_actor)
    return files


async def table_digests(url: str) -> dict[str, str]:
    """Every table's rows, hashed in a stable order: equal digests, equal rows."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tables = [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: await conn.fetchval(
            f"SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
            f'FROM public."{t}" t') for t in tables}
    finally:
        await conn.close()


async def test_backup_then_restore_into_an_empty_desk_gives_every_row_and_file_back(
        source: tuple[str, async_sessionmaker[AsyncSession]], pg_server: PostgresForTests, translator: Translator,
        tmp_path: Path) -> None:
    url, sessions = source
    files = await fill(sessions, DatabaseStore(sessions, 10 << 20), translator)
    archive = tmp_path / "desk.backup"
    code, out, err = await desk(tmp_path, url, "backup", str(archive))
    assert code == 0, err
    assert out.startswith(f"Backup written to {archive}: ") and "0 file(s) from the folder store" in out
    assert "database" in err and "Keep SECRET_KEY" in err  # the progress bar and the reminder, on stderr

    empty = pg_server.url_for(await pg_server.create_database())
    code, out, err = await desk(tmp_path, empty, "restore", str(archive))
    assert code == 0, err
    assert out.startswith(f"Restored from {archive} (taken ")
    before, after = await table_digests(url), await table_digests(empty)
    assert before == after and int(before["ticket"].split(":")[0]) == 2 and int(before["orders"].split(":")[0]) == 1
    assert int(before["blob_chunk"].split(":")[0]) == 1 + 2 + 3
    engine = create_engine(empty, pool_size=1)
    try:
        restored = DatabaseStore(create_session_factory(engine), 10 << 20)
        original = DatabaseStore(sessions, 10 << 20)
        for item in files:
            assert await restored.read(item.storage_key) == await original.read(item.storage_key)
    finally:
        await engine.dispose()

    code, out, err = await desk(tmp_path, empty, "restore", str(archive), LANG="ru_RU.UTF-8")
    assert code == 1 and "База данных этого деска не пуста" in err and "--force" in err
    code, out, err = await desk(tmp_path, empty, "restore", str(archive), "--force")
    assert code == 0, err
    assert await table_digests(empty) == before


async def test_a_folder_store_travels_in_the_archive(
        source: tuple[str, async_sessionmaker[AsyncSession]], pg_server: PostgresForTests, translator: Translator,
        tmp_path: Path) -> None:
    url, sessions = source
    folder = FolderStore(tmp_path / "var" / "attachments", 10 << 20)
    files = await fill(sessions, folder, translator)
    archive = tmp_path / "desk.backup"
    code, out, err = await desk(tmp_path, url, "backup", str(tmp_path / "upgraded.tar"))
    assert code == 0, err  # FILE_STORE=database on a desk whose files are not moved yet: they are taken too
    assert "3 file(s) from the folder store" in out and "desk storage migrate" in err
    code, out, err = await desk(tmp_path, url, "backup", str(archive), FILE_STORE="folder")
    assert code == 0, err
    assert "3 file(s) from the folder store" in out

    other = tmp_path / "elsewhere"
    other.mkdir()
    empty = pg_server.url_for(await pg_server.create_database())
    code, out, err = await desk(other, empty, "restore", str(archive), FILE_STORE="folder",
                                SECRET_KEY="another-secret-key-0123456789abcdef")
    assert code == 0, err
    assert "3 file(s) from the folder store" in out and "SECRET_KEY differs" in err
    moved = FolderStore(other / "var" / "attachments", 10 << 20)
    for item in files:
        assert moved.path(item.storage_key).read_bytes() == folder.path(item.storage_key).read_bytes()
    assert await table_digests(empty) == await table_digests(url)

    code, _, err = await desk(tmp_path, url, "restore", str(tmp_path / "missing.tar"))
    assert code == 1 and "missing.tar" in err
