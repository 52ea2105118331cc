"""Pruning: events past the retention period (in batches, one short transaction each), and
attachment files that no attachment row refers to (after a grace period, so a file being saved
right now, before its row commits, is never taken)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import CompoundSelect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Attachment, MailQuarantine, Product
from core.sla.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

_DELETE_EVENTS = text(
    """
    DELETE FROM event WHERE id IN (
        SELECT id FROM event WHERE created_at < :cutoff ORDER BY created_at LIMIT :limit)
    """
)


@dataclass
class PruneEvents:
    sessions: async_sessionmaker[AsyncSession]
    retention: timedelta
    clock: Clock = SYSTEM_CLOCK
    batch: int = 5000

    async def run(self) -> int:
        cutoff = self.clock.now() - self.retention
        total = 0
        while True:
            async with self.sessions() as session, session.begin():
                result = await session.execute(_DELETE_EVENTS, {"cutoff": cutoff, "limit": self.batch})
                deleted = int(getattr(result, "rowcount", 0))
            total += deleted
            if deleted < self.batch:
                break
        if total:
            log.info("pruned %d events older than %s", total, cutoff.isoformat(), extra={"deleted": total})
        return total


@dataclass
class RemoveOrphanFiles:
    sessions: async_sessionmaker[AsyncSession]
    root: Path
    grace: timedelta
    clock: Clock = SYSTEM_CLOCK
    chunk: int = 1000

    async def run(self) -> int:
        cutoff = (self.clock.now() - self.grace).timestamp()
        files = await asyncio.to_thread(_old_files, self.root, cutoff)
        removed = 0
        for start in range(0, len(files), self.chunk):
            part = files[start:start + self.chunk]
            keys = [path.relative_to(self.root).as_posix() for path in part]
            async with self.sessions() as session:
                known = set(await session.scalars(_in_use(keys)))
            orphans = [path for path, key in zip(part, keys, strict=True) if key not in known]
            removed += await asyncio.to_thread(_unlink_old, orphans, cutoff)
        if removed:
            log.info("removed %d orphaned attachment files", removed, extra={"removed": removed})
        return removed


def _in_use(keys: list[str]) -> CompoundSelect:
    """Files a row still names: attachments, quarantined mail kept for an admin to inspect or retry,
    and product photos uploaded in the panel."""
    attachments = select(Attachment.storage_key).where(Attachment.storage_key.in_(keys))
    return attachments.union_all(
        select(MailQuarantine.raw_storage_key).where(MailQuarantine.raw_storage_key.in_(keys)),
        select(Product.photo_key).where(Product.photo_key.in_(keys)))


def _old_files(root: Path, cutoff: float) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_mtime < cutoff]


def _unlink_old(paths: list[Path], cutoff: float) -> int:
    """Unlink, re-checking the age: a save of the same content touches the file (core.storage)."""
    removed = 0
    for path in paths:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
