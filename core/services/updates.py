from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ProcessedUpdate


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """Record a Telegram update id in the caller's transaction. False: it was already processed
    (or is being processed by another transaction, which this call waits for)."""
    stmt = (
        insert(ProcessedUpdate)
        .values(update_id=update_id)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(ProcessedUpdate.update_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None
