"""Event ids in tests. Readers deliver only ids below the horizon (`core.events.horizon`), and any
transaction that has written holds it back while it runs, anywhere on the PostgreSQL server: xids are
server-wide, so an autoanalyze or another database's writer counts too. A test that needs "every event
so far" (the id of what it just published, all that a reader will ever get) waits until none is held."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import events
from core.models import Event


async def newest_stored(session: AsyncSession) -> int:
    """The newest committed event's id, deliverable yet or not (0 if none)."""
    return int(await session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0)


async def settled_last_id(sessions: async_sessionmaker[AsyncSession], timeout: float = 10.0) -> int:
    """`last_event_id` once every event committed so far is deliverable (nothing held back)."""
    started = time.monotonic()
    while True:
        async with sessions() as session:
            deliverable, stored = await events.last_event_id(session), await newest_stored(session)
        if deliverable == stored:
            return deliverable
        if time.monotonic() - started > timeout:
            raise AssertionError(f"events held back for {timeout} s: deliverable {deliverable}, stored {stored}")
        await asyncio.sleep(0.01)
