"""Event bus and outbox against the raw PostgreSQL limits, measured in the same run.

    python -m bench.bus_outbox            # own embedded PostgreSQL in a temporary directory
    BENCH_DATABASE_URL=postgresql://... python -m bench.bus_outbox
    BENCH_EVENTS=2000 BENCH_ROWS=5000 python -m bench.bus_outbox
    BENCH_SYNCHRONOUS_COMMIT=off python -m bench.bus_outbox   # the software's cost without the disk flush

Bus: one event at a time, publish in a transaction -> NOTIFY -> PgListener -> EventStream -> subscriber,
against a plain `pg_notify` -> LISTEN round trip; then the same with 8 concurrent publishers for
throughput. Outbox: rows delivered per second by two OutboxWorkers to a no-op channel, against plain
single-row asyncpg INSERTs (autocommit, one connection, then 8 connections).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

from core import events, outbox
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.embedded_pg import EmbeddedPostgres, remove_cluster
from core.event_reader import EventRecord
from core.listener import EventStream, PgListener
from core.migrate import upgrade
from core.outbox import Delivery, OutboxWorker

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))
ROWS = int(os.environ.get("BENCH_ROWS", "3000"))
CONCURRENCY = 8


@dataclass
class Result:
    name: str
    count: int
    seconds: float
    latencies: list[float]
    show_rate: bool = True

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        text = f"  {self.name:<44} {self.rate:>9.0f}/s" if self.show_rate else f"  {self.name:<55}"
        if self.latencies:
            text += f"   p50 {self.pct(0.50):6.2f} ms   p99 {self.pct(0.99):6.2f} ms"
        return text


async def interleaved(probes: dict[str, Callable[[int], Awaitable[Any]]], count: int, warmup: int = 50) -> list[Result]:
    """Round trips of every probe in turn, rotating the order: on a shared machine whose load changes
    from second to second, each probe samples the same conditions, so their difference is meaningful."""
    names = list(probes)
    for number in range(warmup):
        for name in names:
            await probes[name](-number - 1)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    for number in range(count):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            begin = time.perf_counter()
            await probes[name](number)
            latencies[name].append(time.perf_counter() - begin)
    return [Result(name, count, sum(latencies[name]), latencies[name]) for name in names]


async def timed(name: str, count: int, one: Callable[[int], Awaitable[Any]], warmup: int = 50) -> Result:
    return (await interleaved({name: one}, count, warmup))[0]


async def concurrently(name: str, count: int, one: Callable[[int], Awaitable[Any]]) -> Result:
    async def lane(lane_number: int) -> None:
        for number in range(lane_number, count, CONCURRENCY):
            await one(number)

    started = time.perf_counter()
    await asyncio.gather(*(lane(n) for n in range(CONCURRENCY)))
    return Result(name, count, time.perf_counter() - started, [])


class Waiters:
    """Futures keyed by what the receiving side will see, resolved when it arrives."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[None]] = {}

    def expect(self, key: str) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        self._futures[key] = future
        return future

    def arrived(self, key: str) -> None:
        future = self._futures.pop(key, None)
        if future is not None and not future.done():
            future.set_result(None)


@dataclass
class BusLab:
    """Everything the bus comparison needs, built once, so the probes can run interleaved."""

    url: str
    raw_waiters: Waiters
    bus_waiters: Waiters
    conns: list[asyncpg.Connection]
    engine: Any
    sessions: Any
    listener: PgListener
    tasks: list[asyncio.Task[Any]]

    @classmethod
    async def open(cls, url: str) -> BusLab:
        dsn = asyncpg_dsn(url)
        conns = [await asyncpg.connect(dsn) for _ in range(CONCURRENCY + 3)]
        engine = create_engine(url, pool_size=CONCURRENCY + 2)
        sessions = create_session_factory(engine)
        listener = PgListener(dsn)
        stream = EventStream(sessions, listener)
        lab = cls(url, Waiters(), Waiters(), conns, engine, sessions, listener, [])

        async def received(batch: list[EventRecord]) -> None:
            for event in batch:
                lab.bus_waiters.arrived(str(event.data["n"]))

        stream.subscribe(received)
        await stream.start_from_now()
        await conns[0].add_listener("bench_raw", lambda _c, _p, _ch, payload: lab.raw_waiters.arrived(payload))
        await conns[0].execute("CREATE TABLE IF NOT EXISTS bench_bare (n bigint)")
        # event ids come from the bus's trigger only (migration 0029): the raw probe writes a table like it
        await conns[0].execute("CREATE TABLE IF NOT EXISTS bench_event"
                               " (id bigserial PRIMARY KEY, type text NOT NULL, data jsonb NOT NULL)")
        lab.tasks = [asyncio.ensure_future(listener.run()), asyncio.ensure_future(stream.run())]
        await listener.wait_connected()
        return lab

    async def raw_notify(self, number: int, sender: int = 1) -> None:
        arrived = self.raw_waiters.expect(str(number))
        await self.conns[sender].execute("SELECT pg_notify('bench_raw', $1)", str(number))
        await arrived

    async def raw_transaction(self, number: int) -> None:
        """What the bus does, by hand: INSERT + pg_notify in a transaction, LISTEN, SELECT the row."""
        writer, reader = self.conns[-2], self.conns[-1]
        key = f"tx{number}"
        arrived = self.raw_waiters.expect(key)
        async with writer.transaction():
            new_id = await writer.fetchval(
                "INSERT INTO bench_event (type, data) VALUES ('bench.raw', $1::jsonb) RETURNING id", f'{{"n": "{key}"}}'
            )
            await writer.execute("SELECT pg_notify('bench_raw', $1)", key)
        await arrived
        await reader.fetch("SELECT id, type, data FROM bench_event WHERE id >= $1 ORDER BY id LIMIT 500", new_id)

    async def bare_transaction(self, number: int) -> None:
        """A session transaction with one INSERT and no event: what a state change costs anyway."""
        async with self.sessions() as session, session.begin():
            await session.execute(text("INSERT INTO bench_bare (n) VALUES (:n)"), {"n": number})

    async def bus(self, number: int) -> None:
        arrived = self.bus_waiters.expect(str(number))
        async with self.sessions() as session, session.begin():
            events.publish(session, "bench.tick", {"n": number})
        await arrived

    async def close(self) -> None:
        await self.listener.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for conn in self.conns:
            await conn.close()
        await self.engine.dispose()


async def bus_figures(url: str) -> None:
    lab = await BusLab.open(url)
    raw, raw_tx, bare, bus = await interleaved(
        {
            "raw pg_notify round trip": lab.raw_notify,
            "raw: INSERT+NOTIFY tx -> LISTEN -> SELECT": lab.raw_transaction,
            "session transaction, one INSERT, no event": lab.bare_transaction,
            "bus: publish -> EventStream subscriber": lab.bus,
        },
        EVENTS,
    )
    raw_par = await concurrently(f"raw pg_notify, {CONCURRENCY} senders", EVENTS * 2,
                                 lambda n: lab.raw_notify(10**6 + n, 1 + n % CONCURRENCY))
    bus_par = await concurrently(f"bus, {CONCURRENCY} publishers", EVENTS * 2, lambda n: lab.bus(10**6 + n))
    await lab.close()
    print(f"Event bus ({EVENTS} round trips of each, interleaved; then {EVENTS * 2} from {CONCURRENCY} senders)")
    for result in (raw, raw_tx, bare, bus, raw_par, bus_par):
        print(result.line())
    for label, base in (("a raw NOTIFY round trip", raw), ("the raw transactional equivalent", raw_tx),
                        ("a bare session transaction", bare)):
        print(f"  bus vs {label}: {bus.pct(0.50) - base.pct(0.50):+.2f} ms at p50, "
              f"{bus.pct(0.99) - base.pct(0.99):+.2f} ms at p99")
    added = bus.pct(0.99) - raw.pct(0.99)
    print(f"  aim: the bus adds under 2 ms at p99 to a raw NOTIFY round trip -> {'MET' if added < 2.0 else 'MISSED'}")


async def raw_inserts(dsn: str) -> tuple[Result, Result]:
    conns = [await asyncpg.connect(dsn) for _ in range(CONCURRENCY)]
    await conns[0].execute("DROP TABLE IF EXISTS bench_insert; CREATE TABLE bench_insert "
                           "(id bigserial PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz DEFAULT now())")

    async def one(number: int, conn: asyncpg.Connection = conns[0]) -> None:
        await conn.execute("INSERT INTO bench_insert (payload) VALUES ($1::jsonb)", f'{{"n": {number}}}')

    sequential = await timed("raw single-row INSERT, 1 connection", ROWS, one)
    parallel = await concurrently(f"raw single-row INSERT, {CONCURRENCY} connections", ROWS,
                                  lambda n: one(n, conns[n % CONCURRENCY]))
    await conns[0].execute("DROP TABLE bench_insert")
    for conn in conns:
        await conn.close()
    return sequential, parallel


class NoOp:
    name = "noop"

    def __init__(self) -> None:
        self.delivered = 0

    async def deliver(self, _delivery: Delivery) -> dict[str, Any]:
        self.delivered += 1
        return {}


async def outbox_delivery(url: str, workers: int) -> Result:
    engine = create_engine(url, pool_size=workers * 10)
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        for number in range(ROWS):
            await outbox.enqueue(session, channel="noop", kind="text", payload={"n": number},
                                 idempotency_key=f"bench:{workers}:{number}", order_key=f"bench:{number}")
    channel = NoOp()
    team = [OutboxWorker(sessions, {"noop": channel}) for _ in range(workers)]
    started = time.perf_counter()
    tasks = [asyncio.ensure_future(worker.run()) for worker in team]
    while channel.delivered < ROWS or sum(worker.delivered for worker in team) < ROWS:
        await asyncio.sleep(0.001)
    seconds = time.perf_counter() - started
    for worker in team:
        worker.stop()
    await asyncio.gather(*tasks)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox"))
    await engine.dispose()
    return Result(f"outbox -> no-op channel, {workers} worker(s)", ROWS, seconds, [])


async def outbox_figures(url: str) -> None:
    dsn = asyncpg_dsn(url)
    before, before_par = await raw_inserts(dsn)
    one_worker = await outbox_delivery(url, 1)
    two_workers = await outbox_delivery(url, 2)
    after, _ = await raw_inserts(dsn)
    print(f"\nOutbox ({ROWS} rows, distinct recipients; raw inserts measured before and after)")
    for result in (before, after, before_par, one_worker, two_workers):
        print(result.line())
    baseline = (before.rate + after.rate) / 2
    ratio = two_workers.rate / baseline
    print(f"  outbox (2 workers) reaches {ratio:.0%} of the single-connection raw insert rate "
          f"(aim: at least 50%) -> {'MET' if ratio >= 0.5 else 'MISSED'}")


async def run(url: str) -> None:
    await upgrade(url)
    setting = os.environ.get("BENCH_SYNCHRONOUS_COMMIT")
    admin = await asyncpg.connect(asyncpg_dsn(url))
    database = await admin.fetchval("SELECT current_database()")
    if setting:  # e.g. "off": takes the disk's flush time out, leaving the software's own cost
        await admin.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = {setting}')
    print(f"synchronous_commit = {setting or await admin.fetchval('SHOW synchronous_commit')}\n")
    try:
        await bus_figures(url)
        await outbox_figures(url)
    finally:
        if setting:
            await admin.execute(f'ALTER DATABASE "{database}" RESET synchronous_commit')
        await admin.close()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        asyncio.run(run(url))
        return
    base = Path(tempfile.mkdtemp(prefix="desk-bench-"))
    embedded = EmbeddedPostgres(base / "pg")
    try:
        asyncio.run(run(embedded.start()))
    finally:
        embedded.stop()
        remove_cluster(base)


if __name__ == "__main__":
    main()
