"""`desk storage migrate` as an admin runs it once after upgrading: the real process moves a folder
store's files into PostgreSQL, picks up where it stopped after a SIGKILL, checks every hash, and
reports (and leaves out) a file whose bytes are not what its name says."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Blob
from core.storage import FolderStore, key_of
from core.storage_db import DatabaseStore
from tests.integration.test_cli import DESK, desk_env
from tests.integration.test_cli_accounts import desk

pytestmark = pytest.mark.slow
FILES = 48


async def blobs(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Blob)) or 0)


async def test_storage_migrate_moves_resumes_after_a_kill_and_verifies_hashes(
        database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    folder = FolderStore(tmp_path / "var" / "attachments", 10 << 20)
    saved = [await folder.save(os.urandom(1 << 20), f"f{n}.bin", "application/octet-stream") for n in range(FILES)]
    rotten = os.urandom(1000)
    rotten_key = key_of(hashlib.sha256(b"what it was").hexdigest())
    folder.path(rotten_key).parent.mkdir(parents=True, exist_ok=True)
    folder.path(rotten_key).write_bytes(rotten)  # a file damaged on disk since it was saved

    upgraded = DatabaseStore(sessions, 10 << 20, legacy=folder)  # what an upgraded desk reads until the move
    assert await upgraded.read(saved[0].storage_key) == folder.path(saved[0].storage_key).read_bytes()
    assert (await upgraded.stat(saved[1].storage_key)).size == 1 << 20

    environment = desk_env(tmp_path / "var", DATABASE_URL=database_url)
    first = subprocess.Popen([sys.executable, DESK, "storage", "migrate"], env=environment, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        async with asyncio.timeout(60):
            while await blobs(sessions) < 3:
                await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    done_before = await blobs(sessions)
    assert done_before < FILES, "the first run finished before it could be killed"

    code, out, err = await desk(tmp_path, database_url, "storage", "migrate")
    assert code == 1, err  # the damaged file is reported
    moved = int(out.split()[0])
    assert FILES - done_before - 1 <= moved <= FILES - done_before  # the one being saved at the kill may be in
    assert f"{moved} file(s) moved into the database" in out and "already there" in out
    assert "files" in err and "100%" in err  # the progress bar, on stderr
    assert f"do not match their hash and were left out: {rotten_key}" in err
    assert await blobs(sessions) == FILES

    store = DatabaseStore(sessions, 10 << 20)
    for item in saved:
        assert await store.read(item.storage_key) == folder.path(item.storage_key).read_bytes()

    code, out, err = await desk(tmp_path, database_url, "storage", "migrate", "--remove", LANG="ru_RU.UTF-8")
    assert code == 1
    assert out == f"Перенесено в базу данных файлов: 0 (0 B); уже были там: {FILES}.\n"
    assert not folder.path(saved[0].storage_key).exists()  # --remove: in the database, so gone from the disk
    assert folder.path(rotten_key).exists()  # never removed: it is not in the database
