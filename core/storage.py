"""The file store: attachments, kept mail and product photos, once per content hash.

One interface (`AttachmentStore`), two implementations that callers never tell apart:
`DatabaseStore` (core/storage_db.py, FILE_STORE=database, the default: every process of a desk reads
the same files through PostgreSQL) and `FolderStore` (FILE_STORE=folder: files under
$DESK_DATA_DIR/attachments, for a desk on one machine). A key is `<first 2 hex>/<sha256>` in both,
so `desk storage migrate` moves files without touching a row. Reads go in pieces (`chunks`), never
the whole file at once unless the caller asks (`read`: a Telegram upload, a mail part).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import TooLarge, UnsupportedType

# What a desk accepts; anything executable or script-like is refused.
ALLOWED_TYPES = (
    "image/",
    "audio/",
    "video/",
    "text/plain",
    "text/csv",
    "application/pdf",
    "application/zip",
    "application/json",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.",
    "application/octet-stream",
    "application/x-tgsticker",
    "text/calendar",
    "message/rfc822",
)
BLOCKED_SUFFIXES = (
    ".exe", ".bat", ".cmd", ".com", ".scr", ".js", ".vbs", ".msi", ".jar", ".ps1", ".sh", ".html", ".htm", ".svg",
)
CHUNK = 256 * 1024
_KEY = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{64})$")


class MissingFile(FileNotFoundError):
    """No such file in the store (or a key that cannot be one)."""


class CorruptFile(ValueError):
    """Bytes whose sha256 is not the one they were stored under."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    storage_key: str
    size: int


@dataclass(frozen=True)
class FileInfo:
    sha256: str
    size: int


def key_of(digest: str) -> str:
    return f"{digest[:2]}/{digest}"


def digest_of(storage_key: str) -> str:
    found = _KEY.match(storage_key)
    if found is None or not found.group(2).startswith(found.group(1)):
        raise MissingFile(storage_key)
    return found.group(2)


def pieces(data: bytes, size: int = CHUNK) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start:start + size])


class AttachmentStore(ABC):
    max_bytes: int

    def check(self, file_name: str, content_type: str, size: int) -> None:
        if size > self.max_bytes:
            raise TooLarge("file too large", size=size, limit=self.max_bytes)
        lowered = file_name.lower()
        if lowered.endswith(BLOCKED_SUFFIXES) or not content_type.lower().startswith(ALLOWED_TYPES):
            raise UnsupportedType("file type not accepted", content_type=content_type, file_name=file_name)

    async def save(self, data: bytes, file_name: str, content_type: str) -> StoredFile:
        """Keep `data` (checked against the limits); saving the same bytes again keeps one copy and
        makes it fresh for the orphan sweep."""
        self.check(file_name, content_type, len(data))
        digest = hashlib.sha256(data).hexdigest()
        await self.put(digest, len(data), _aiter(pieces(data)))
        return StoredFile(sha256=digest, storage_key=key_of(digest), size=len(data))

    @abstractmethod
    async def put(self, digest: str, size: int, parts: AsyncIterator[bytes]) -> bool:
        """Store the bytes of `parts` (pieces of CHUNK bytes, the last one shorter) under `digest`,
        all or nothing; CorruptFile when they do not hash to it. True when they were not there yet."""

    @abstractmethod
    async def stat(self, storage_key: str) -> FileInfo:
        """Its hash and size; MissingFile when there is no such file."""

    @abstractmethod
    def chunks(self, storage_key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        """Bytes [start, stop) in pieces of at most ~1 MiB."""

    @abstractmethod
    def stored_keys(self) -> AsyncIterator[str]:
        """Every stored file's key (for backups and moves between stores)."""

    @abstractmethod
    async def old_keys(self, cutoff: datetime) -> list[str]:
        """Files not saved since `cutoff` (candidates for the orphan sweep)."""

    @abstractmethod
    async def remove_old(self, keys: list[str], cutoff: datetime) -> int:
        """Remove those of `keys` still not saved since `cutoff` (a save may have come in between)."""

    async def read(self, storage_key: str) -> bytes:
        return b"".join([part async for part in self.chunks(storage_key)])


async def _aiter(parts: Iterator[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@dataclass
class FolderStore(AttachmentStore):
    root: Path
    max_bytes: int

    def path(self, storage_key: str) -> Path:
        return self.root / key_of(digest_of(storage_key))

    async def put(self, digest: str, size: int, parts: AsyncIterator[bytes]) -> bool:
        target = self.root / key_of(digest)
        if await asyncio.to_thread(_touch, target):
            return False
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        fd, name = await asyncio.to_thread(tempfile.mkstemp, dir=target.parent)
        handle, temp = os.fdopen(fd, "wb"), Path(name)
        hasher = hashlib.sha256()
        try:
            with handle:
                async for part in parts:
                    hasher.update(part)
                    await asyncio.to_thread(handle.write, part)
            if hasher.hexdigest() != digest:
                raise CorruptFile(digest)
            await asyncio.to_thread(temp.replace, target)  # atomic: a reader never sees half a file
        finally:
            await asyncio.to_thread(temp.unlink, missing_ok=True)
        return True

    async def stat(self, storage_key: str) -> FileInfo:
        path = self.path(storage_key)
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            raise MissingFile(storage_key) from None
        return FileInfo(sha256=path.name, size=size)

    async def chunks(self, storage_key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self.path(storage_key).open, "rb")
        except FileNotFoundError:
            raise MissingFile(storage_key) from None
        with handle:
            await asyncio.to_thread(handle.seek, start)
            left = None if stop is None else max(stop - start, 0)
            while left is None or left > 0:
                part = await asyncio.to_thread(handle.read, 4 * CHUNK if left is None else min(4 * CHUNK, left))
                if not part:
                    return
                if left is not None:
                    left -= len(part)
                yield part

    async def stored_keys(self) -> AsyncIterator[str]:
        for path in await asyncio.to_thread(_files, self.root):
            key = path.relative_to(self.root).as_posix()
            if _KEY.match(key):
                yield key

    async def old_keys(self, cutoff: datetime) -> list[str]:
        stamp = cutoff.timestamp()
        paths = await asyncio.to_thread(_files, self.root)
        return [p.relative_to(self.root).as_posix() for p in paths if _mtime(p) < stamp]

    async def remove_old(self, keys: list[str], cutoff: datetime) -> int:
        return await asyncio.to_thread(_unlink_old, [self.root / key for key in keys], cutoff.timestamp())


def _touch(target: Path) -> bool:
    """Fresh again: the orphan sweep spares it during its grace period. False when it is not there."""
    try:
        os.utime(target)
    except FileNotFoundError:
        return False
    return True


def _files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return datetime.now(UTC).timestamp()


def _unlink_old(paths: list[Path], cutoff: float) -> int:
    """Unlink, re-checking the age: a save of the same content touches the file."""
    removed = 0
    for path in paths:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
