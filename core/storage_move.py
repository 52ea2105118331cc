"""`desk storage migrate`: a folder store's files into the database store, one file per transaction.

Resumable and idempotent: a file already in the database is skipped (a save is all or nothing, so
there is never half of one), so a run killed half-way goes on where it stopped. Verified: the bytes
must hash to the name they were kept under before they commit (a file that does not is reported and
left out), and each file is read back from the database and hashed again."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.storage import CHUNK, AttachmentStore, CorruptFile, FolderStore, MissingFile, digest_of


@dataclass
class MoveReport:
    moved: int = 0
    present: int = 0
    bytes: int = 0
    corrupt: list[str] = field(default_factory=list)


async def plan(source: FolderStore) -> tuple[list[str], int]:
    """The source's files and their total size (for the progress bar)."""
    keys = [key async for key in source.stored_keys()]
    sizes = await asyncio.to_thread(lambda: sum(source.path(key).stat().st_size for key in keys))
    return keys, sizes


async def move_files(source: FolderStore, target: AttachmentStore, keys: list[str],
                     progress: Callable[[int], None] = lambda done: None, *, remove: bool = False) -> MoveReport:
    report = MoveReport()
    for key in keys:
        path = source.path(key)
        size = (await asyncio.to_thread(path.stat)).st_size
        if await _present(target, key):
            report.present += 1
        else:
            try:
                await target.put(digest_of(key), size, _read(path))
            except CorruptFile:
                report.corrupt.append(key)
                progress(size)
                continue
            await verify(target, key)
            report.moved += 1
            report.bytes += size
        if remove:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        progress(size)
    return report


async def verify(store: AttachmentStore, key: str) -> None:
    """Read the file back and hash it; CorruptFile when it is not what its key says."""
    hasher = hashlib.sha256()
    async for part in store.chunks(key):
        hasher.update(part)
    if hasher.hexdigest() != digest_of(key):
        raise CorruptFile(key)


async def _present(store: AttachmentStore, key: str) -> bool:
    try:
        await store.stat(key)
    except MissingFile:
        return False
    return True


async def _read(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while part := await asyncio.to_thread(handle.read, CHUNK):
            yield part
    finally:
        await asyncio.to_thread(handle.close)
