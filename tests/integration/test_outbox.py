"""The outbox on real PostgreSQL: claims, retries, terminal failures, order, leases, wake-up on NOTIFY."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import outbox
from core.listener import PgListener
from core.models import OutboxItem
from core.outbox import Backoff, Delivery, OutboxWorker, PermanentFailure, RecipientGone, RetryLater
from tests.waiting import eventually, running

Behaviour = Callable[[Delivery, int], dict[str, Any]]


def succeed(delivery: Delivery, _call: int) -> dict[str, Any]:
    return {"remote_id": delivery.id}


@dataclass
class RecordingChannel:
    """A channel that records every call (outbox id, payload, monotonic time) and behaves as told."""

    behaviour: Behaviour = succeed
    name: str = "test"
    calls: list[tuple[int, dict[str, Any], float]] = field(default_factory=list)
    jitter: float = 0.0

    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        self.calls.append((delivery.id, delivery.payload, time.monotonic()))
        if self.jitter:
            await asyncio.sleep(random.uniform(0, self.jitter))
        return self.behaviour(delivery, sum(1 for call in self.calls if call[0] == delivery.id))

    def times(self, outbox_id: int) -> list[float]:
        return [at for oid, _payload, at in self.calls if oid == outbox_id]


async def enqueue_many(
    sessions: async_sessionmaker[AsyncSession], count: int, *, keys: int = 1, prefix: str = "row"
) -> list[int]:
    async with sessions() as session, session.begin():
        for number in range(count):
            await outbox.enqueue(
                session,
                channel="test",
                kind="text",
                payload={"n": number, "key": number % keys},
                idempotency_key=f"{prefix}:{number}",
                order_key=f"{prefix}-key:{number % keys}",
            )
    async with sessions() as session:
        return list(
            (
                await session.scalars(
                    select(OutboxItem.id).where(OutboxItem.idempotency_key.like(f"{prefix}:%")).order_by(OutboxItem.id)
                )
            ).all()
        )


async def row(sessions: async_sessionmaker[AsyncSession], outbox_id: int) -> OutboxItem:
    async with sessions() as session:
        item = await session.get(OutboxItem, outbox_id)
        assert item is not None
        return item


async def states(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {state: count for state, count in (await outbox.backlog(session)).items() if count}


@asynccontextmanager
async def workers(*items: OutboxWorker) -> AsyncIterator[None]:
    """Run the workers for the block, then stop them the way the desk does: finish the pass in flight."""
    async with running(*(worker.run() for worker in items)) as tasks:
        yield
        for worker in items:
            worker.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


def worker(
    sessions: async_sessionmaker[AsyncSession], channel: RecordingChannel, **options: Any
) -> OutboxWorker:
    options.setdefault("backoff", Backoff(base=0.02, cap=0.2, max_attempts=5))
    return OutboxWorker(sessions, {"test": channel}, **options)


async def test_three_workers_over_hundreds_of_rows_never_deliver_a_row_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await enqueue_many(sessions, 400, keys=40)
    channel = RecordingChannel(jitter=0.002)
    team = [worker(sessions, channel, batch=10, concurrency=4) for _ in range(3)]
    async with workers(*team):
        await eventually(lambda: len(channel.calls) >= 400, timeout=60)
        await asyncio.sleep(0.2)
    delivered = Counter(oid for oid, _payload, _at in channel.calls)
    assert sorted(delivered) == ids
    assert set(delivered.values()) == {1}
    assert await states(sessions) == {"sent": 400}
    assert sum(w.delivered for w in team) == 400
    assert all(w.delivered > 0 for w in team), "every worker took a share of the queue"
    for key in range(40):
        in_key = [oid for oid, payload, _at in channel.calls if payload["key"] == key]
        assert in_key == sorted(in_key), f"deliveries to key {key} left out of order"


async def test_failing_channel_is_retried_with_growing_backoff_until_it_succeeds(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def flaky(_delivery: Delivery, call: int) -> dict[str, Any]:
        if call <= 4:
            raise ConnectionError(f"network down (try {call})")
        return {"remote_id": 99}

    outcomes: list[tuple[int, str, dict[str, Any] | None]] = []

    async def remember(_session: AsyncSession, delivery: Delivery, outcome: str, result: Any, _error: Any) -> None:
        outcomes.append((delivery.id, outcome, result))

    (oid,) = await enqueue_many(sessions, 1)
    channel = RecordingChannel(flaky)
    base = 0.05
    team = worker(sessions, channel, backoff=Backoff(base=base, cap=5.0, max_attempts=10), on_outcome=[remember])
    async with workers(team):
        await eventually(lambda: len(channel.calls) >= 5, timeout=10)
        await eventually(lambda: bool(outcomes))
    times = channel.times(oid)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    for attempt, gap in enumerate(gaps, start=1):
        ceiling = base * 2 ** (attempt - 1)
        assert gap >= ceiling / 2 - 0.005, f"retry {attempt} came after {gap:.3f} s, before its backoff"
        assert gap < ceiling + 3.0  # generous: the machine may be busy
    item = await row(sessions, oid)
    assert (item.state, item.attempts, item.result, item.last_error) == ("sent", 5, {"remote_id": 99}, None)
    assert outcomes == [(oid, "sent", {"remote_id": 99})]


async def test_channel_that_never_recovers_ends_failed_with_the_reason(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def broken(_delivery: Delivery, call: int) -> dict[str, Any]:
        raise RetryLater(f"502 Bad Gateway (try {call})")

    outcomes: list[str] = []

    async def remember(_session: AsyncSession, _delivery: Delivery, outcome: str, _result: Any, _error: Any) -> None:
        outcomes.append(outcome)

    (oid,) = await enqueue_many(sessions, 1)
    channel = RecordingChannel(broken)
    team = worker(sessions, channel, backoff=Backoff(base=0.01, cap=0.05, max_attempts=3), on_outcome=[remember])
    async with workers(team):
        await eventually(lambda: outcomes == ["failed"], timeout=10)
        await asyncio.sleep(0.2)
    item = await row(sessions, oid)
    assert (item.state, item.attempts) == ("failed", 3)
    assert item.last_error == "gave up after 3 attempts: 502 Bad Gateway (try 3)"
    assert item.done_at is not None
    assert len(channel.calls) == 3


async def test_retry_after_imposed_by_the_channel_overrides_the_backoff(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def rate_limited(_delivery: Delivery, call: int) -> dict[str, Any]:
        if call == 1:
            raise RetryLater("429 Too Many Requests", retry_after=0.5)
        return {"ok": True}

    (oid,) = await enqueue_many(sessions, 1)
    channel = RecordingChannel(rate_limited)
    team = worker(sessions, channel, backoff=Backoff(base=60.0, cap=600.0))
    async with workers(team):
        await eventually(lambda: len(channel.calls) == 1)
        await asyncio.sleep(0.1)
        waiting = await row(sessions, oid)
        assert (waiting.state, waiting.last_error) == ("pending", "429 Too Many Requests")
        await eventually(lambda: len(channel.calls) == 2, timeout=5)
    first, second = channel.times(oid)
    assert 0.5 - 0.005 <= second - first < 4.0
    assert (await row(sessions, oid)).state == "sent"


@pytest.mark.parametrize(("error", "outcome"), [(PermanentFailure, "failed"), (RecipientGone, "gone")])
async def test_permanent_failure_and_recipient_gone_end_at_once(
    sessions: async_sessionmaker[AsyncSession], error: type[PermanentFailure], outcome: str
) -> None:
    def refuse(_delivery: Delivery, _call: int) -> dict[str, Any]:
        raise error("Forbidden: bot was blocked by the user")

    outcomes: list[str] = []

    async def remember(_session: AsyncSession, _delivery: Delivery, what: str, _result: Any, _error: Any) -> None:
        outcomes.append(what)

    (oid,) = await enqueue_many(sessions, 1)
    channel = RecordingChannel(refuse)
    async with workers(worker(sessions, channel, on_outcome=[remember])):
        await eventually(lambda: bool(outcomes))
        await asyncio.sleep(0.3)
    item = await row(sessions, oid)
    assert (item.state, item.attempts, item.last_error) == ("failed", 1, "Forbidden: bot was blocked by the user")
    assert outcomes == [outcome]
    assert len(channel.calls) == 1


async def test_rows_of_one_recipient_leave_in_order_even_when_the_first_must_wait(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def first_is_rate_limited(delivery: Delivery, call: int) -> dict[str, Any]:
        if delivery.payload["key"] == "a" and delivery.payload["n"] == 0 and call == 1:
            raise RetryLater("429", retry_after=0.4)
        return {}

    async with sessions() as session, session.begin():
        for number in range(5):
            for key in ("a", "b"):
                await outbox.enqueue(
                    session, channel="test", kind="text", payload={"key": key, "n": number},
                    idempotency_key=f"{key}:{number}", order_key=f"tg:{key}",
                )
    channel = RecordingChannel(first_is_rate_limited, jitter=0.002)
    async with workers(*(worker(sessions, channel) for _ in range(2))):
        await eventually(lambda: len(channel.calls) >= 11, timeout=10)
    sequence = {key: [p["n"] for _oid, p, _at in channel.calls if p["key"] == key] for key in ("a", "b")}
    assert sequence == {"a": [0, 0, 1, 2, 3, 4], "b": [0, 1, 2, 3, 4]}
    b_done = max(at for _oid, p, at in channel.calls if p["key"] == "b")
    a_retry = channel.calls[[p for _oid, p, _at in channel.calls].index({"key": "a", "n": 1})][2]
    assert b_done < a_retry, "another recipient is not held up by one recipient's wait"


async def test_row_of_a_worker_that_died_mid_delivery_is_reclaimed_after_its_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    (oid,) = await enqueue_many(sessions, 1)
    hang = asyncio.Event()

    class Hanging:
        name = "test"

        async def deliver(self, _delivery: Delivery) -> dict[str, Any]:
            hang.set()
            await asyncio.Event().wait()
            return {}

    doomed = OutboxWorker(sessions, {"test": Hanging()}, lease_seconds=0.5)
    async with running(doomed.run()) as (task,):
        await asyncio.wait_for(hang.wait(), 5)
        claimed_at = time.monotonic()
        task.cancel()
    assert (await row(sessions, oid)).state == "sending"
    channel = RecordingChannel()
    async with workers(worker(sessions, channel)):
        await eventually(lambda: len(channel.calls) == 1, timeout=5)
    assert channel.calls[0][2] - claimed_at >= 0.45, "the lease was not honoured"
    item = await row(sessions, oid)
    assert (item.state, item.attempts) == ("sent", 2)


async def test_idempotency_key_queues_a_business_fact_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async def add() -> bool:
        async with sessions() as session, session.begin():
            return await outbox.enqueue(
                session, channel="test", kind="reply", payload={"message_id": 5},
                idempotency_key="message:5", order_key="tg:1", message_id=None,
            )

    assert await add() is True
    assert await add() is False
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 1


async def test_worker_wakes_on_notify_long_before_its_idle_timer(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    channel = RecordingChannel()
    idle = OutboxWorker(sessions, {"test": channel}, idle_seconds=30.0)
    listener = PgListener(dsn)
    listener.on(outbox.CHANNEL, idle.wake)
    async with running(listener.run()), workers(idle):
        await listener.wait_connected()
        await asyncio.sleep(0.3)  # the first pass found nothing; the worker now sleeps on its timer
        async with sessions() as session, session.begin():
            await outbox.enqueue(session, channel="test", kind="text", payload={"n": 1},
                                 idempotency_key="wake:1", order_key="tg:1")
        took = await eventually(lambda: len(channel.calls) == 1, timeout=5)
    assert took < 3.0, "woken by NOTIFY, not by its 30 s timer"


async def test_rolled_back_enqueue_leaves_no_row_and_wakes_nobody(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    notified: list[str] = []
    listener = PgListener(dsn)
    listener.on(outbox.CHANNEL, notified.append)
    async with running(listener.run()):
        await listener.wait_connected()
        async with sessions() as session:
            await outbox.enqueue(session, channel="test", kind="text", payload={}, idempotency_key="x:1",
                                 order_key="tg:1")
            await session.rollback()
        async with sessions() as session, session.begin():
            await outbox.enqueue(session, channel="test", kind="text", payload={}, idempotency_key="x:2",
                                 order_key="tg:1")
        await eventually(lambda: bool(notified))
    assert notified == ["test"]
    assert await states(sessions) == {"pending": 1}


class CountingSessions:
    """The worker's session factory, counting how often it opens a session (a poll costs one)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.opened = 0

    def __call__(self) -> AsyncSession:
        self.opened += 1
        return self._sessions()


async def test_recipient_in_backoff_does_not_make_workers_poll(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def first_waits(delivery: Delivery, call: int) -> dict[str, Any]:
        if delivery.payload["n"] == 0 and call == 1:
            raise RetryLater("429", retry_after=1.5)
        return {}

    await enqueue_many(sessions, 6)  # one recipient: the five behind the first are due but blocked
    channel = RecordingChannel(first_waits)
    counting = CountingSessions(sessions)
    team = OutboxWorker(counting, {"test": channel}, idle_seconds=30.0)  # type: ignore[arg-type]
    async with workers(team):
        await eventually(lambda: len(channel.calls) == 1)
        await asyncio.sleep(0.2)
        opened = counting.opened
        await asyncio.sleep(1.0)
        assert counting.opened - opened <= 2, f"the worker polled {counting.opened - opened} times in 1 s"
        await eventually(lambda: len(channel.calls) == 7, timeout=5)


async def test_stopped_worker_finishes_its_in_flight_pass(sessions: async_sessionmaker[AsyncSession]) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    class Slow:
        name = "test"

        async def deliver(self, _delivery: Delivery) -> dict[str, Any]:
            entered.set()
            await release.wait()
            return {"done": True}

    ids = await enqueue_many(sessions, 3, keys=3)
    team = OutboxWorker(sessions, {"test": Slow()})
    async with running(team.run()) as (task,):
        await asyncio.wait_for(entered.wait(), 5)
        team.stop()
        await asyncio.sleep(0.1)
        assert not task.done()
        release.set()
        await asyncio.wait_for(task, 5)
    assert [(await row(sessions, oid)).state for oid in ids] == ["sent"] * 3


async def test_desk_shutdown_drains_the_pass_in_flight_and_gives_up_on_a_hanging_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from core.health import Components
    from core.supervisor import Supervisor
    from desk import _drain_worker

    release = asyncio.Event()
    entered = asyncio.Event()

    class Gated:
        name = "test"

        async def deliver(self, delivery: Delivery) -> dict[str, Any]:
            entered.set()
            if delivery.payload["n"] == 1:
                await asyncio.Event().wait()  # never answers
            await release.wait()
            return {}

    first, hanging = await enqueue_many(sessions, 2, keys=2)
    team = OutboxWorker(sessions, {"test": Gated()})
    supervisor = Supervisor(Components())
    supervisor.start("outbox", team.run)
    await asyncio.wait_for(entered.wait(), 5)
    asyncio.get_running_loop().call_later(0.1, release.set)
    started = time.monotonic()
    await _drain_worker(team, supervisor, timeout=0.5)
    assert 0.4 < time.monotonic() - started < 2.0
    assert not supervisor.running("outbox")
    assert (await row(sessions, first)).state == "sent"
    assert (await row(sessions, hanging)).state == "sending", "left to its lease, retried by any worker later"
