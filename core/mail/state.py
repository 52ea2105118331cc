"""Where intake of a mailbox stands: UIDVALIDITY and the highest committed UID."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import MailboxState


@dataclass(frozen=True)
class Position:
    uidvalidity: int
    last_uid: int


async def position(session: AsyncSession, mailbox: str) -> Position | None:
    row = await session.get(MailboxState, mailbox)
    return Position(row.uidvalidity, row.last_uid) if row else None


async def start_over(session: AsyncSession, mailbox: str, uidvalidity: int) -> None:
    """A new mailbox or a changed UIDVALIDITY: old UIDs mean nothing; Message-IDs still dedupe."""
    stmt = insert(MailboxState).values(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=0)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["mailbox"], set_={"uidvalidity": uidvalidity, "last_uid": 0, "updated_at": func.now()}
        )
    )


async def advance(session: AsyncSession, mailbox: str, uidvalidity: int, uid: int) -> None:
    """In the same transaction as the mail's rows: committed together or not at all."""
    await session.execute(
        update(MailboxState)
        .where(MailboxState.mailbox == mailbox, MailboxState.uidvalidity == uidvalidity, MailboxState.last_uid < uid)
        .values(last_uid=uid, updated_at=func.now())
    )
