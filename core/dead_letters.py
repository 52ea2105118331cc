"""Inputs that could not be handled, kept for an admin to see and try again (DESIGN: nothing lost).

A Telegram update whose handler keeps failing, or a webhook body that is no usable update, is written
here with the error, and the intake moves on: one poison update must not hold up every customer.
An input that failed only because the database was away is never written here; it is waited out.
An admin asks for a retry; the front that owns the source (the bot for `telegram`) takes the row,
runs it again and marks it resolved, or failed with the new error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.errors import Conflict, NotAllowed, NotFound
from core.models import AuditLog, DeadLetter, Operator

CHANNEL = "desk_dead_letter"  # NOTIFY payload: the source whose rows wait for a retry
PAYLOAD_LIMIT = 256 * 1024
ERROR_LIMIT = 4000


@dataclass(frozen=True)
class Retry:
    id: int
    payload: str


async def record(session: AsyncSession, *, source: str, external_id: str | None, payload: str, error: str,
                 attempts: int = 1) -> int:
    """Keep (or, for an input seen before, count again) an input that could not be handled after
    `attempts` tries."""
    stmt = insert(DeadLetter).values(
        source=source, external_id=external_id, payload=payload[:PAYLOAD_LIMIT], error=error[:ERROR_LIMIT],
        attempts=attempts,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["source", "external_id"], index_where=text("external_id IS NOT NULL"),
        set_={"attempts": DeadLetter.attempts + stmt.excluded.attempts, "error": stmt.excluded.error, "state": "failed",
              "updated_at": func.now()},
    ).returning(DeadLetter.id)
    row_id = int((await session.execute(upsert)).scalar_one())
    events.publish(session, "dead_letter.recorded",
                   {"id": row_id, "source": source, "external_id": external_id, "error": error[:500]},
                   audience="admin")
    return row_id


def _payload(row: DeadLetter) -> dict[str, Any]:
    return {
        "id": row.id, "source": row.source, "external_id": row.external_id, "error": row.error,
        "state": row.state, "attempts": row.attempts, "payload": row.payload[:4000],
        "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at), "resolved_at": _iso(row.resolved_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _admins_only(actor: Operator) -> None:
    if actor.role != "admin" or not actor.is_active:
        raise NotAllowed("only admins see dead letters")


async def list_open(session: AsyncSession, actor: Operator, *, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first, those not resolved or discarded; admins only (an update may hold anyone's data)."""
    _admins_only(actor)
    query = (select(DeadLetter).where(DeadLetter.state.in_(("failed", "retry")))
             .order_by(DeadLetter.id.desc()).limit(max(1, min(limit, 200))))
    return [_payload(row) for row in (await session.scalars(query)).all()]


async def request_retry(session: AsyncSession, actor: Operator, letter_id: int) -> dict[str, Any]:
    """Ask the owning front to run the input again (it wakes on NOTIFY)."""
    _admins_only(actor)
    row = await session.get(DeadLetter, letter_id, with_for_update=True)
    if row is None:
        raise NotFound("dead letter", dead_letter_id=letter_id)
    if row.state not in ("failed", "retry"):
        raise Conflict("already resolved", dead_letter_id=letter_id)
    row.state = "retry"
    row.resolved_by_id = actor.id  # who asked for the retry
    row.updated_at = func.now()
    session.add(AuditLog(actor_kind="operator", actor_id=actor.id, action="dead_letter.retry",
                         object_type="dead_letter", object_id=row.id))
    await session.flush()
    await session.refresh(row)
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": row.source})
    events.publish(session, "dead_letter.updated", _payload(row), audience="admin")
    return _payload(row)


async def take_retries(session: AsyncSession, source: str, limit: int = 20) -> list[Retry]:
    """Rows of `source` an admin asked to run again, locked for the caller's transaction."""
    rows = (await session.execute(
        select(DeadLetter.id, DeadLetter.payload)
        .where(DeadLetter.source == source, DeadLetter.state == "retry")
        .order_by(DeadLetter.id).limit(limit).with_for_update(skip_locked=True)
    )).all()
    return [Retry(row.id, row.payload) for row in rows]


async def settle(session: AsyncSession, letter_id: int, error: str | None) -> None:
    """The outcome of a retry: resolved, or failed again with the new error."""
    values: dict[str, Any] = {"updated_at": func.now(), "attempts": DeadLetter.attempts + 1}
    if error is None:
        values.update(state="resolved", resolved_at=func.now())
    else:
        values.update(state="failed", error=error[:ERROR_LIMIT])
    row = (await session.execute(
        update(DeadLetter).where(DeadLetter.id == letter_id).values(**values).returning(DeadLetter)
    )).scalar_one()
    events.publish(session, "dead_letter.updated", _payload(row), audience="admin")
