"""Files in PostgreSQL (FILE_STORE=database): a `blob` row per sha256 and its bytes in `blob_chunk`
rows of CHUNK bytes. A save is one transaction (a reader never sees half a file); a read takes a few
chunks per query, each query on a pooled connection of its own, so a slow download holds none."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Blob, BlobChunk
from core.storage import CHUNK, AttachmentStore, CorruptFile, FileInfo, FolderStore, MissingFile, digest_of, key_of

PER_QUERY = 4  # chunks: ~1 MiB a round trip

_CLAIM = text(
    "INSERT INTO blob (sha256, size, chunk_size) VALUES (:sha256, :size, :chunk_size) "
    "ON CONFLICT (sha256) DO UPDATE SET touched_at = now() RETURNING (xmax = 0)"
)


@dataclass
class DatabaseStore(AttachmentStore):
    """`legacy`: the folder a desk kept its files in before; read from while a file is not in the
    database yet (an upgraded desk before `desk storage migrate` has moved it), never written."""

    sessions: async_sessionmaker[AsyncSession]
    max_bytes: int
    legacy: FolderStore | None = None

    async def put(self, digest: str, size: int, parts: AsyncIterator[bytes]) -> bool:
        # A second save of the same bytes waits on the first's row, then only touches it.
        async with self.sessions() as session, session.begin():
            fresh = await session.scalar(_CLAIM, {"sha256": digest, "size": size, "chunk_size": CHUNK})
            if not fresh:
                return False
            hasher, n, total = hashlib.sha256(), 0, 0
            async for part in parts:
                hasher.update(part)
                total += len(part)
                await session.execute(insert(BlobChunk).values(sha256=digest, n=n, data=part))
                n += 1
            if hasher.hexdigest() != digest or total != size:
                raise CorruptFile(digest)  # rolls the blob back
        return True

    async def stat(self, storage_key: str) -> FileInfo:
        try:
            blob = await self._blob(storage_key)
        except MissingFile:
            if self.legacy is None:
                raise
            return await self.legacy.stat(storage_key)
        return FileInfo(sha256=blob.sha256, size=blob.size)

    async def chunks(self, storage_key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        try:
            blob = await self._blob(storage_key)
        except MissingFile:
            if self.legacy is None:
                raise
            async for part in self.legacy.chunks(storage_key, start, stop):
                yield part
            return
        stop = blob.size if stop is None else min(stop, blob.size)
        size = blob.chunk_size
        n = start // size
        while n * size < stop:
            async with self.sessions() as session:
                rows = (await session.execute(
                    select(BlobChunk.n, BlobChunk.data)
                    .where(BlobChunk.sha256 == blob.sha256, BlobChunk.n >= n, BlobChunk.n < n + PER_QUERY)
                    .order_by(BlobChunk.n))).all()
            if not rows or rows[0].n != n:
                raise MissingFile(storage_key)
            for row in rows:
                if row.n != n or n * size >= stop:
                    break
                offset = n * size
                yield bytes(row.data[max(start - offset, 0):stop - offset])
                n += 1

    async def stored_keys(self) -> AsyncIterator[str]:
        after = ""
        while True:
            async with self.sessions() as session:
                found = list(await session.scalars(
                    select(Blob.sha256).where(Blob.sha256 > after).order_by(Blob.sha256).limit(1000)))
            for digest in found:
                yield key_of(digest)
            if len(found) < 1000:
                return
            after = found[-1]

    async def old_keys(self, cutoff: datetime) -> list[str]:
        async with self.sessions() as session:
            return [key_of(d) for d in await session.scalars(select(Blob.sha256).where(Blob.touched_at < cutoff))]

    async def remove_old(self, keys: list[str], cutoff: datetime) -> int:
        digests = [digest_of(key) for key in keys]
        async with self.sessions() as session, session.begin():
            # Re-checked under the row lock: a save that touched the blob meanwhile keeps it.
            result = await session.execute(
                delete(Blob).where(Blob.sha256.in_(digests), Blob.touched_at < cutoff).returning(Blob.sha256))
            return len(result.all())

    async def _blob(self, storage_key: str) -> Blob:
        digest = digest_of(storage_key)
        async with self.sessions() as session:
            blob = await session.get(Blob, digest)
            if blob is None:
                raise MissingFile(storage_key)
            session.expunge(blob)
        return blob
