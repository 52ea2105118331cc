"""Outbound work as a queue in the database (DESIGN principle 3).

A row is claimed with a lease (`state='sending'`, `locked_until`) taken under FOR UPDATE SKIP LOCKED,
so any number of workers share the queue and a worker that dies only delays its rows until the lease
ends. Only the oldest live row of each `order_key` is claimable: one recipient's messages leave in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import outbox_sql as sql
from core.db import database_unavailable
from core.models import OutboxItem

log = logging.getLogger(__name__)

CHANNEL = "desk_outbox"
STATUS = "outbox"


class RetryLater(Exception):
    """A transient failure; `retry_after` (seconds) overrides the backoff, as Telegram's 429 asks."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Retrying cannot help (bad address, message refused)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecipientGone(PermanentFailure):
    """The recipient refuses us for good (a Telegram user who blocked the bot)."""


@dataclass(frozen=True)
class Delivery:
    """What a channel gets: ids and a JSON payload, never ORM objects."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    message_id: int | None
    channel: str = ""  # the outbox row's channel (outcome hooks file sent ids and find a recipient's identity by it)


class Channel(Protocol):
    name: str

    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        """Send it; return what to remember (e.g. the remote message id). Raise RetryLater,
        PermanentFailure or RecipientGone; any other exception counts as transient."""


OutcomeHook = Callable[[AsyncSession, Delivery, str, dict[str, Any] | None, str | None], Awaitable[None]]


async def enqueue(
    session: AsyncSession,
    *,
    channel: str,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    order_key: str,
    message_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add a delivery in the caller's transaction. Returns False when the key was already queued."""
    values: dict[str, Any] = {
        "channel": channel,
        "kind": kind,
        "payload": payload,
        "idempotency_key": idempotency_key,
        "order_key": order_key,
        "message_id": message_id,
    }
    if not_before is not None:
        values["next_attempt_at"] = not_before
    stmt = insert(OutboxItem).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
    result = await session.execute(stmt.returning(OutboxItem.id))
    if result.scalar_one_or_none() is None:
        return False
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": channel})
    return True


async def enqueue_many(session: AsyncSession, items: Sequence[Mapping[str, Any]]) -> int:
    """Several deliveries in one statement (each with enqueue's keyword fields); returns how many
    were new. For jobs that alert many recipients at once."""
    if not items:
        return 0
    # executemany form: one compiled (and cached) statement whatever the number of rows
    stmt = insert(OutboxItem).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(OutboxItem.channel)
    channels = list((await session.execute(stmt, [dict(item) for item in items])).scalars())
    for channel in sorted(set(channels)):
        await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": channel})
    return len(channels)


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 600.0
    max_attempts: int = 12

    def delay(self, attempts: int) -> float:
        """Exponential with full jitter: spreads retries of many rows after one outage."""
        ceiling = min(self.cap, self.base * 2 ** max(attempts - 1, 0))
        return random.uniform(ceiling / 2, ceiling)


class LeaseOwner:
    """A worker's identity in the database: a session-level advisory lock (LEASE_LOCK_CLASS, key) held
    on a connection of its own. Claimed rows carry the key; while the lock is held their lease is
    live. When the process dies its session ends, PostgreSQL drops the lock, and any worker may
    take the rows at once instead of waiting for the lease to run out."""

    def __init__(self, dsn: str, application_name: str = "desk-outbox") -> None:
        self._dsn = dsn
        self._application_name = application_name
        self.key = random.randint(1, 2**31 - 1)
        self._conn: asyncpg.Connection | None = None

    @property
    def alive(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def ensure(self) -> int:
        """The key, with its lock held (taken again on a new connection if the old one dropped)."""
        if not self.alive:
            await self.close()
            conn = await asyncpg.connect(self._dsn, timeout=5.0,
                                         server_settings={"application_name": self._application_name})
            try:
                await conn.execute("SELECT pg_advisory_lock($1, $2)", sql.LEASE_LOCK_CLASS, self.key)
            except BaseException:
                await conn.close(timeout=2.0)
                raise
            self._conn = conn
        return self.key

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=2.0)


@dataclass
class OutboxWorker:
    """Claims due rows, hands them to their channel, records the outcome. Wakes on NOTIFY;
    a slow timer only covers scheduled retries and expired leases."""

    session_factory: async_sessionmaker[AsyncSession]
    channels: Mapping[str, Channel]
    backoff: Backoff = field(default_factory=Backoff)
    on_outcome: list[OutcomeHook] = field(default_factory=list)
    batch: int = 100
    lease_seconds: float = 120.0
    idle_seconds: float = 5.0
    concurrency: int = 8
    owner: LeaseOwner | None = None
    status: MutableMapping[str, str] = field(default_factory=dict)
    delivered: int = 0
    failed: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: bool = False
    # A pass failed: rows this worker claimed may be left 'sending' with nobody working on them (a claim
    # whose COMMIT was lost with the connection, an outcome that could not be written before its lease
    # ended). The next pass gives them back to the queue instead of leaving them to their lease.
    _strays: bool = False

    def wake(self, _payload: str = "") -> None:
        self._wake.set()

    async def run(self) -> None:
        """Until stop(): a pass whenever woken (NOTIFY) or a row falls due. A failed pass (the
        database is away) is logged once and retried with backoff; the loop never ends on its own."""
        self._wake.set()
        retry = 1.0
        while not self._stopping:
            try:
                claimed = await self.run_once()
                wait = 0.0 if claimed else await self._seconds_until_due()
            except Exception as exc:
                if self.status.get(STATUS) != "down":
                    log.warning("outbox pass failed; retrying", exc_info=not database_unavailable(exc),
                                extra={"error": repr(exc)})
                self.status[STATUS] = "down"
                self._strays = True
                wait, retry = retry, min(retry * 2, self.idle_seconds)
            else:
                if self.status.get(STATUS) != "ok":
                    log.info("outbox passes run", extra={"component": STATUS})
                self.status[STATUS] = "ok"
                retry = 1.0
            if wait and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                self._wake.clear()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def close(self) -> None:
        """Release the lease identity (the rows it still holds become claimable by others at once)."""
        if self.owner is not None:
            await self.owner.close()

    async def run_once(self) -> int:
        """One pass: claim due rows, deliver them concurrently, record every outcome in one transaction."""
        owner = await self.owner.ensure() if self.owner is not None else None
        async with self.session_factory() as session, session.begin():
            if self._strays and owner is not None:
                await self._release_strays(session, owner)
            rows = (
                await session.execute(
                    sql.CLAIM, {"channels": list(self.channels), "limit": self.batch, "lease": self.lease_seconds,
                                "owner": owner, "lease_class": sql.LEASE_LOCK_CLASS}
                )
            ).all()
        self._strays = False
        if not rows:
            return 0
        lease_ends = asyncio.get_running_loop().time() + self.lease_seconds
        semaphore = asyncio.Semaphore(self.concurrency)
        recorder = GroupRecorder(lambda outcomes: self._record(outcomes, lease_ends))

        async def one(channel: str, delivery: Delivery) -> None:
            async with semaphore:
                outcome = await self._attempt(self.channels[channel], delivery)
            await recorder.record(outcome)

        # Every delivery of the pass runs to its end even when another one's outcome could not be
        # written: a delivery left running after its pass would hold a row that the next pass frees.
        results = await asyncio.gather(
            *(one(r.channel, Delivery(r.id, r.kind, r.payload, r.attempts, r.message_id, r.channel)) for r in rows),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(rows)

    async def _release_strays(self, session: AsyncSession, owner: int) -> None:
        """Back to the queue: rows this worker holds although none of its deliveries is running (this
        runs between passes only, after a failed one)."""
        released = list((await session.execute(sql.RELEASE_OWN, {"owner": owner})).scalars())
        if released:
            log.warning("outbox rows of a failed pass released", extra={"outbox_ids": released[:20],
                                                                         "count": len(released)})

    async def _attempt(self, channel: Channel, delivery: Delivery) -> Outcome:
        try:
            result = await channel.deliver(delivery)
        except PermanentFailure as exc:
            return Outcome(delivery, "gone" if isinstance(exc, RecipientGone) else "failed", error=exc.reason)
        except RetryLater as exc:
            return self._retry(delivery, exc.reason, exc.retry_after)
        except Exception as exc:  # a channel bug or a network fault: transient
            log.warning("delivery raised", extra={"outbox_id": delivery.id, "error": repr(exc)})
            return self._retry(delivery, f"{type(exc).__name__}: {exc}", None)
        return Outcome(delivery, "sent", result=result)

    def _retry(self, delivery: Delivery, reason: str, retry_after: float | None) -> Outcome:
        if delivery.attempts >= self.backoff.max_attempts:
            return Outcome(delivery, "failed", error=f"gave up after {delivery.attempts} attempts: {reason}")
        delay = retry_after if retry_after is not None else self.backoff.delay(delivery.attempts)
        return Outcome(delivery, "retry", error=reason, delay=delay)

    async def _record(self, outcomes: list[Outcome], lease_ends: float) -> None:
        """Write the outcomes; whatever stops the write (the database away, a connection that broke
        in a way no error class says), keep them and try again while the rows' lease lasts. A message
        already handed to its channel must not be sent a second time because its outcome was lost;
        once the lease has ended the row may have been taken again, and RECORD leaves it alone."""
        loop = asyncio.get_running_loop()
        delay, logged = 0.5, False
        while True:
            try:
                await self._write_outcomes(outcomes)
                return
            except Exception as exc:
                if self._stopping or loop.time() + delay >= lease_ends:
                    raise
                if not logged:
                    log.warning("delivery outcomes not written yet; retrying", exc_info=not database_unavailable(exc),
                                extra={"outbox_ids": [o.delivery.id for o in outcomes][:20], "error": repr(exc)})
                    logged = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _write_outcomes(self, outcomes: list[Outcome]) -> None:
        async with self.session_factory() as session, session.begin():
            recorded = set(
                (await session.execute(sql.RECORD, {"rows": _dumps([o.row() for o in outcomes])})).scalars()
            )
            for outcome in outcomes:
                if outcome.kind != "retry" and outcome.delivery.id in recorded:
                    await self._run_hooks(session, outcome)
        for outcome in outcomes:
            self._count(outcome, outcome.delivery.id in recorded)

    async def _run_hooks(self, session: AsyncSession, outcome: Outcome) -> None:
        """Each hook in a savepoint: one hook's failure must not undo the other rows' outcomes."""
        for hook in self.on_outcome:
            try:
                async with session.begin_nested():
                    await hook(session, outcome.delivery, outcome.kind, outcome.result, outcome.error)
            except Exception:
                log.exception("outbox outcome hook failed", extra={"outbox_id": outcome.delivery.id})

    def _count(self, outcome: Outcome, recorded: bool) -> None:
        extra = {"outbox_id": outcome.delivery.id, "error": outcome.error}
        if not recorded:
            log.warning("outcome not recorded: the lease ended and the row was taken again", extra=extra)
        elif outcome.kind == "sent":
            self.delivered += 1
        elif outcome.kind == "retry":
            log.info("delivery will retry", extra={**extra, "in_seconds": round(outcome.delay, 2)})
        else:
            self.failed += 1
            log.warning("delivery failed for good", extra=extra)

    async def _seconds_until_due(self) -> float:
        async with self.session_factory() as session:
            due = await session.scalar(sql.NEXT_DUE, {"channels": list(self.channels)})
        if due is None:
            return self.idle_seconds
        seconds = (due - datetime.now(UTC)).total_seconds()
        return max(0.01, min(seconds, self.idle_seconds))


class GroupRecorder:
    """Records each outcome as soon as its delivery ends (a slow delivery never holds back the others);
    outcomes that end while a write is running go together in the next write, like a group commit."""

    def __init__(self, write: Callable[[list[Outcome]], Awaitable[None]]) -> None:
        self._write = write
        self._pending: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()

    async def record(self, outcome: Outcome) -> None:
        """Returns once the outcome is written, by this call or by a write that took it along; raises
        what that write raised."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((outcome, written))
        async with self._lock:
            if not written.done():
                batch, self._pending = self._pending, []
                try:
                    await self._write([item for item, _ in batch])
                except BaseException as exc:
                    for _, other in batch:
                        if not other.done():
                            other.set_exception(exc)
                else:
                    for _, other in batch:
                        if not other.done():
                            other.set_result(None)
        await written


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: sent, retry (after `delay`), failed, or gone (recipient refuses us)."""

    delivery: Delivery
    kind: str
    result: dict[str, Any] | None = None
    error: str | None = None
    delay: float = 0.0

    def row(self) -> dict[str, Any]:
        state = {"retry": "pending", "gone": "failed"}.get(self.kind, self.kind)
        return {"id": self.delivery.id, "attempts": self.delivery.attempts, "state": state,
                "result": self.result, "error": self.error, "delay": self.delay}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


async def backlog(session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state))).all()
    counts = dict.fromkeys(("pending", "sending", "sent", "failed"), 0)
    counts.update({state: int(count) for state, count in rows})
    return counts


async def requeue(session: AsyncSession, outbox_id: int) -> None:
    """Give a finished (failed) row a fresh start: pending now, attempts reset. Same row, same
    idempotency key, so the delivery can never be queued twice."""
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == outbox_id)
        .values(state="pending", attempts=0, next_attempt_at=func.now(), locked_until=None, last_error=None,
                done_at=None, result=None)
    )
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": "requeue"})
