"""Pruning: events and missed knowledge-base questions past their retention (in batches, one short
transaction each), and attachment files that no attachment row refers to (after a grace period, so
a file being saved right now, before its row commits, is never taken)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CompoundSelect, TextClause, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Attachment, MailQuarantine, Product
from core.sla.clock import SYSTEM_CLOCK, Clock
from core.storage import AttachmentStore

log = logging.getLogger(__name__)

_DELETE_EVENTS = text(
    """
    DELETE FROM event WHERE id IN (
        SELECT id FROM event WHERE created_at < :cutoff ORDER BY created_at LIMIT :limit)
    """
)


async def delete_in_batches(sessions: async_sessionmaker[AsyncSession], statement: TextClause, cutoff: datetime,
                            batch: int) -> int:
    """Run a `DELETE ... LIMIT :limit` of rows older than `cutoff` until fewer than `batch` go, one short
    transaction per batch (no long lock on a busy table); returns how many rows went."""
    total = 0
    while True:
        async with sessions() as session, session.begin():
            result = await session.execute(statement, {"cutoff": cutoff, "limit": batch})
            deleted = int(getattr(result, "rowcount", 0))
        total += deleted
        if deleted < batch:
            return total


@dataclass
class PruneEvents:
    sessions: async_sessionmaker[AsyncSession]
    retention: timedelta
    clock: Clock = SYSTEM_CLOCK
    batch: int = 5000

    async def run(self) -> int:
        cutoff = self.clock.now() - self.retention
        total = await delete_in_batches(self.sessions, _DELETE_EVENTS, cutoff, self.batch)
        if total:
            log.info("pruned %d events older than %s", total, cutoff.isoformat(), extra={"deleted": total})
        return total


_DELETE_RECEIPTS = text(
    """
    DELETE FROM widget_receipt WHERE (visitor, client_id) IN (
        SELECT visitor, client_id FROM widget_receipt WHERE created_at < :cutoff LIMIT :limit)
    """
)


@dataclass
class PruneWidgetReceipts:
    """Receipts of website chat frames only answer a resend, which comes within minutes of the frame
    (a widget resends what was not acknowledged at its next connect): old ones go, in batches."""

    sessions: async_sessionmaker[AsyncSession]
    retention: timedelta
    clock: Clock = SYSTEM_CLOCK
    batch: int = 5000

    async def run(self) -> int:
        return await delete_in_batches(self.sessions, _DELETE_RECEIPTS, self.clock.now() - self.retention, self.batch)


_DELETE_KB_MISSES = text(
    """
    DELETE FROM kb_miss WHERE id IN (
        SELECT id FROM kb_miss WHERE created_at < :cutoff ORDER BY created_at LIMIT :limit)
    """
)


@dataclass
class PruneKbMisses:
    """Missed knowledge-base questions are worth an admin's look while they are recent: older ones go."""

    sessions: async_sessionmaker[AsyncSession]
    retention: timedelta
    clock: Clock = SYSTEM_CLOCK
    batch: int = 5000

    async def run(self) -> int:
        total = await delete_in_batches(self.sessions, _DELETE_KB_MISSES, self.clock.now() - self.retention,
                                        self.batch)
        if total:
            log.info("pruned %d missed knowledge-base questions", total, extra={"deleted": total})
        return total


@dataclass
class RemoveOrphanFiles:
    sessions: async_sessionmaker[AsyncSession]
    store: AttachmentStore
    grace: timedelta
    clock: Clock = SYSTEM_CLOCK
    chunk: int = 1000

    async def run(self) -> int:
        cutoff = self.clock.now() - self.grace
        keys = await self.store.old_keys(cutoff)
        removed = 0
        for start in range(0, len(keys), self.chunk):
            part = keys[start:start + self.chunk]
            async with self.sessions() as session:
                known = set(await session.scalars(_in_use(part)))
            removed += await self.store.remove_old([key for key in part if key not in known], cutoff)
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
