from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ProcessedUpdate

# Built once: it runs for every update, and building and keying a statement costs as much CPU as running it.
_TABLE = cast(Table, ProcessedUpdate.__table__)
_CLAIM = (
    insert(_TABLE)
    .values(update_id=bindparam("update_id"))
    .on_conflict_do_nothing(index_elements=["update_id"])
    .returning(_TABLE.c.update_id)
)


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """Record a Telegram update id in the caller's transaction. False: it was already processed
    (or is being processed by another transaction, which this call waits for)."""
    return (await session.execute(_CLAIM, {"update_id": update_id})).scalar_one_or_none() is not None
