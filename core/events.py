"""Event bus: rows written in the caller's transaction, NOTIFY on commit, replay by id.

Events are collected on the session and handed over in `before_commit` as one `event_batch` row (a
statement that writes rows can hand over the events about them itself, in the same round trip:
`hand_over`); a
deferred trigger (migration 0029) writes them to `event` inside COMMIT; once the commit has returned,
the process NOTIFYs `desk_events` from a connection of its own (core.event_announcer: a NOTIFY inside
the transaction would make PostgreSQL serialise the publishing commits).
An event's id is `(its transaction's xid8 << 20) + ordinal`: no sequence, no lock, so publishing
commits run side by side at the pool's pace. Readers deliver only ids below the *horizon*
`pg_snapshot_xmin(pg_current_snapshot()) << 20`: every transaction with a smaller xid has ended (committed
or rolled back), so nothing can later appear below an id once it was delivered, and "everything after
K" is exact, with one process or twenty. The order is xid order: a total order that never changes
once read (not commit order; nobody needs that, only that it is fixed).

The one cost: a transaction that has written anything (it holds an xid), anywhere in the database,
holds the horizon until it ends, and events committed after it started wait for it. The desk's own
writers commit in short transactions; `core.listener.EventStream` warns and shows `delayed`/`held`
on /healthz when events wait longer than a few seconds, naming the backend that holds them.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Text, bindparam, cast, func, insert, literal_column, null, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from core import event_announcer
from core.db import asyncpg_dsn
from core.event_reader import EventRecord
from core.models import Event, EventBatch
from core.payloads import constant

CHANNEL = "desk_events"  # the trigger's NOTIFY channel
_PENDING = "desk_pending_events"
_ANNOUNCE = "desk_announce_events"  # this transaction published: NOTIFY once it has committed
_MARKS = "desk_event_savepoints"
_HANDED = "desk_events_handed_over"  # how many of the pending events a statement has already written


@dataclass(frozen=True)
class PendingEvent:
    type: str
    data: dict[str, Any]
    audience: str = "staff"
    ticket_id: int | None = None
    store_id: int | None = None


@dataclass(frozen=True)
class Principal:
    """Who is looking: decides which events they may see."""

    role: str
    operator_id: int | None = None
    store_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "operator")


def publish(
    session: AsyncSession,
    type_: str,
    data: dict[str, Any],
    *,
    audience: str = "staff",
    ticket_id: int | None = None,
    store_id: int | None = None,
) -> None:
    """Queue an event on this transaction; it is written and announced only if the transaction commits.

    With no transaction yet, one begins here (as the first statement would), so a rollback or close
    before any SQL still discards the event: call it inside the transaction, never before `begin()`."""
    sync = session.sync_session
    if sync.get_transaction() is None:
        sync.begin()
    pending: list[PendingEvent] = sync.info.setdefault(_PENDING, [])
    pending.append(PendingEvent(type_, data, audience, ticket_id, store_id))
    sync.info[_ANNOUNCE] = True


_HAND_OVER = text("INSERT INTO event_batch (rows) VALUES (CAST(:rows AS jsonb))")


def _flush_pending(session: Session) -> None:
    """At the outermost commit: one row for all of the transaction's events. A savepoint's release
    (which fires `before_commit` too) leaves them pending, so a transaction of many savepoints (mail
    intake's groups) writes one row, not one per savepoint; a rolled-back savepoint still takes back
    its own (`_undo_savepoint`)."""
    if session.in_nested_transaction():
        return
    pending: list[PendingEvent] = session.info.pop(_PENDING, [])[session.info.pop(_HANDED, 0):]
    if not pending:
        return
    session.execute(_HAND_OVER, {"rows": dumps(_rows(pending))})


def _rows(pending: Sequence[PendingEvent]) -> list[dict[str, Any]]:
    return [
        {
            "type": item.type,
            "data": item.data,
            "audience": item.audience,
            "ticket_id": item.ticket_id,
            "store_id": item.store_id,
        }
        for item in pending
    ]


def hand_over(*rows: Any, source: Any) -> Any:
    """`INSERT INTO event_batch` for a statement that writes the rows its events are about: first the
    transaction's events published before it (parameter `earlier`, from `earlier_events`, so the
    order of publishing holds), then `rows` (`event_row`), whose data the statement builds from its own
    RETURNING. Use it as a CTE; `source` is what the rows select from (the statement's CTEs, joined):
    when it has no row, no batch is written and the earlier events stay pending. Call `handed_over`
    once the statement wrote its batch."""
    earlier = cast(bindparam("earlier", type_=Text), JSONB)
    batch = select(earlier.concat(func.jsonb_build_array(*rows))).select_from(source)
    return insert(EventBatch).from_select(["rows"], batch)


def event_row(type_: str, data: Any, *, ticket_id: Any = None, audience: str = "staff") -> Any:
    """One event of `hand_over`, as jsonb; `data` and `ticket_id` are SQL of the statement."""
    return func.jsonb_build_object(constant("type"), constant(type_), constant("data"), data,
                                   constant("audience"), constant(audience),
                                   constant("ticket_id"), ticket_id if ticket_id is not None else null(),
                                   constant("store_id"), null())


def earlier_events(session: AsyncSession) -> str:
    """The `earlier` parameter of a `hand_over` statement: the events not handed over yet, as JSON."""
    sync = session.sync_session
    return dumps(_rows(sync.info.get(_PENDING, [])[sync.info.get(_HANDED, 0):]))


def handed_over(session: AsyncSession) -> None:
    """A `hand_over` statement wrote its batch: the events published so far are written (commit writes
    only later ones), and this transaction is announced after its commit."""
    sync = session.sync_session
    sync.info[_HANDED] = len(sync.info.get(_PENDING, []))
    sync.info[_ANNOUNCE] = True


def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without committing (rollback, close): its events never happened."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_HANDED, None)
        session.info.pop(_ANNOUNCE, None)
        session.info.pop(_MARKS, None)  # savepoint marks live until the outermost transaction ends


def _announce(session: Session) -> None:
    """After the commit, not in it: a NOTIFY inside would serialise publishing commits (core.event_announcer)."""
    if session.info.pop(_ANNOUNCE, False):
        engine = session.get_bind().engine
        dsn = _DSNS.get(engine)
        if dsn is None:
            dsn = _DSNS[engine] = asyncpg_dsn(engine.url.render_as_string(hide_password=False))
        event_announcer.announce(dsn)


_DSNS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[transaction] = (len(session.info.get(_PENDING, [])),
                                                            session.info.get(_HANDED, 0))


def _undo_savepoint(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back savepoint takes back the events published inside it, and the batches written
    inside it (`hand_over`): the events they held are pending again."""
    if transaction.nested:
        mark = session.info.get(_MARKS, {}).pop(transaction, None)
        if mark is not None and _PENDING in session.info:
            published, handed = mark
            del session.info[_PENDING][published:]
            session.info[_HANDED] = handed


def install() -> None:
    """Hook the flush into every ORM session's commit. Idempotent."""
    if not sa_event.contains(Session, "before_commit", _flush_pending):
        sa_event.listen(Session, "before_commit", _flush_pending)
        sa_event.listen(Session, "after_commit", _announce)
        sa_event.listen(Session, "after_transaction_end", _drop_pending)
        sa_event.listen(Session, "after_transaction_create", _mark_savepoint)
        sa_event.listen(Session, "after_soft_rollback", _undo_savepoint)


install()


def visible_to(principal: Principal) -> Any:
    """The WHERE clause for the events a principal may see."""
    if principal.role == "admin":
        return Event.audience.in_(("staff", "admin", "store"))
    if principal.role == "operator":
        return Event.audience.in_(("staff", "store"))
    if principal.store_ids:
        return (Event.audience == "store") & Event.store_id.in_(sorted(principal.store_ids))
    return Event.id.is_(None)


ORDINAL_BITS = 20  # migration 0029: up to 2^20 events per transaction
_HORIZON_SQL = f"pg_snapshot_xmin(pg_current_snapshot())::text::bigint << {ORDINAL_BITS}"


def horizon() -> Any:
    """The smallest id an undecided transaction could still write, read from the statement's own
    snapshot: every id below it is final (committed and visible, or never to exist)."""
    # A scalar subquery: computed once per statement (an InitPlan), so `id < horizon` reads the index.
    return select(literal_column(_HORIZON_SQL, BigInteger)).scalar_subquery()


async def events_after(
    session: AsyncSession, after: int, principal: Principal | None = None, limit: int = 1000
) -> Sequence[Event]:
    """Deliverable events after id `after`, in id order: only those below the horizon."""
    query = select(Event).where(Event.id > after, Event.id < horizon()).order_by(Event.id).limit(limit)
    if principal is not None:
        query = query.where(visible_to(principal))
    return (await session.scalars(query)).all()


async def last_event_id(session: AsyncSession) -> int:
    """The newest deliverable id (0 if none): a reader resuming after it misses nothing."""
    query = select(func.coalesce(func.max(Event.id), 0)).where(Event.id < horizon())
    return int(await session.scalar(query) or 0)


def event_dict(event: Event | EventRecord) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "data": event.data}


def may_see(principal: Principal, audience: str, store_id: int | None) -> bool:
    """The same rule as `visible_to`, for an event already in memory."""
    if principal.role == "admin":
        return audience in ("staff", "admin", "store")
    if principal.role == "operator":
        return audience in ("staff", "store")
    return audience == "store" and store_id is not None and store_id in principal.store_ids


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


__all__ = ["Principal", "events_after", "last_event_id", "may_see", "publish", "visible_to"]
