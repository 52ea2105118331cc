"""Flood counting: a contact's messages in the current one-minute window, across processes. The count is
one upsert (`count_upsert`), run on its own (`count_message`) or inside the statement that stores a
message on a live ticket (`conversations.customer_wrote(..., count=)`), so a plain message costs no
round trip of its own; what the count means is decided once, in `counted`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, false, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ContactRate

_RATES = cast(Table, ContactRate.__table__)


def count_upsert(contact_id: Any) -> Any:
    """The upsert that counts one message of `contact_id` (SQL: a message of nobody, NULL, counts nothing),
    returning `seen` (the count in the window, this message included) and `warned`."""
    stale = _RATES.c.window_started_at < func.now() - text("interval '1 minute'")
    return (
        insert(_RATES)
        .from_select(["contact_id", "window_started_at", "count", "warned"],
                     select(contact_id, func.now(), literal(1), false()).where(contact_id.is_not(None)))
        .on_conflict_do_update(index_elements=["contact_id"], set_={
            "count": case((stale, 1), else_=_RATES.c.count + 1),
            "warned": case((stale, false()), else_=_RATES.c.warned),
            "window_started_at": case((stale, func.now()), else_=_RATES.c.window_started_at),
        })
        .returning(_RATES.c.count.label("seen"), _RATES.c.warned)
    )


_COUNT = count_upsert(bindparam("contact_id", type_=_RATES.c.contact_id.type))
_WARNED = text("UPDATE contact_rate SET warned = true WHERE contact_id = :contact_id")


@dataclass(frozen=True)
class FloodCheck:
    count: int
    over: bool
    notify: bool  # the first message over the limit in this window: tell the customer once


@dataclass
class Count:
    """Asks the statement that stores a message to count it too (`customer_wrote(..., count=)`);
    `check` is the outcome once it ran (None: the message was not stored nor counted)."""

    contact_id: int
    per_minute: int
    check: FloodCheck | None = None


async def count_message(session: AsyncSession, contact_id: int, per_minute: int) -> FloodCheck:
    """Count a customer message against the flood limit in a statement of its own."""
    seen, warned = (await session.execute(_COUNT, {"contact_id": contact_id})).one()
    return await counted(session, contact_id, per_minute, seen, warned)


async def counted(session: AsyncSession, contact_id: int, per_minute: int, seen: int, warned: bool) -> FloodCheck:
    """What a count means: over the limit, and whether to tell the customer (once per window)."""
    over = seen > per_minute
    notify = over and not warned
    if notify:
        await session.execute(_WARNED, {"contact_id": contact_id})
    return FloodCheck(seen, over, notify)
