"""Event bus latency and throughput against raw NOTIFY and raw commits, measured in the same run.

    python -m bench.event_bus                 # own embedded PostgreSQL in a temporary directory
    BENCH_DATABASE_URL=postgresql://... python -m bench.event_bus
    BENCH_EVENTS=500 BENCH_SECONDS=5 python -m bench.event_bus
    BENCH_SYNCHRONOUS_COMMIT=off python -m bench.event_bus   # the software's cost without the disk flush

Latency, with 1 and then 8 concurrent lanes: every lane runs in turn a raw `SELECT pg_notify(...)` (time
from sending it to the LISTEN callback; no xid, so no disk flush), a raw transaction with one INSERT
whose COMMIT is followed by a NOTIFY (timed from COMMIT: the same disk flush as a publish), and a bus
publish (`publish(session, ...)`, time from calling `commit()` to the EventStream subscriber), so all
sample the same moments of a noisy machine. The aim: the bus adds under 2 ms at p99 to the raw NOTIFY,
with 1 and with 8 publishers; on a disk whose flush alone takes longer, only
BENCH_SYNCHRONOUS_COMMIT=off (or the durable probe) separates the software's cost from the disk's.

Throughput: commits per second of 8 publishers that each commit one event at a time (not waiting for
delivery), beside the floor of 8 connections committing a one-row INSERT each, and the same hand-over
done with asyncpg (the database's side alone, without SQLAlchemy's CPU cost); then every event is
checked to have reached the subscriber exactly once. The script uses only the bus's public interface,
so the same file runs against an older checkout for an old-vs-new comparison.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from bench.scratch import scratch_database
from core import events
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.event_reader import EventRecord
from core.listener import EventStream, PgListener
from core.migrate import upgrade

try:
    from core.event_announcer import announce
except ImportError:  # a checkout from before the announcer: its trigger NOTIFYs inside the commit
    announce = None  # type: ignore[assignment]

EVENTS = int(os.environ.get("BENCH_EVENTS", "400"))  # round trips of each kind per lane
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))  # the throughput phase
LANES = 8


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Lab:
    """A LISTEN connection for the raw probe, sender connections, a session pool and the real stream."""

    def __init__(self, url: str) -> None:
        self.url, self.dsn = url, asyncpg_dsn(url)
        self.arrivals: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.delivered_keys: list[str] = []

    async def open(self) -> None:
        self.listen = await asyncpg.connect(self.dsn)
        self.senders = [await asyncpg.connect(self.dsn) for _ in range(LANES)]
        self.engine = create_engine(self.url, pool_size=LANES + 2)
        self.sessions = create_session_factory(self.engine)
        self.listener = PgListener(self.dsn)
        self.stream = EventStream(self.sessions, self.listener)
        self.stream.subscribe(self._received)
        await self.stream.start_from_now()
        await self.listen.add_listener("bench_raw", lambda _c, _p, _ch, key: self._arrived(key))
        await self.senders[0].execute("CREATE TABLE IF NOT EXISTS bench_floor (n bigint)")
        self.tasks = [asyncio.ensure_future(self.listener.run()), asyncio.ensure_future(self.stream.run())]
        await self.listener.wait_connected()

    async def _received(self, batch: list[EventRecord]) -> None:
        for event in batch:
            key = str(event.data["k"])
            self.delivered_keys.append(key)
            self._arrived(key)

    def _arrived(self, key: str) -> None:
        self.arrivals[key] = time.perf_counter()
        future = self.waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(None)

    def _expect(self, key: str) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        return future

    async def raw(self, lane: int, key: str) -> float:
        arrived = self._expect(key)
        started = time.perf_counter()
        await self.senders[lane].execute("SELECT pg_notify('bench_raw', $1)", key)
        await asyncio.wait_for(arrived, 30)
        return self.arrivals.pop(key) - started

    async def raw_durable(self, lane: int, key: str) -> float:
        """What the bus does, by hand: a transaction with one INSERT commits, then a NOTIFY; timed from COMMIT."""
        conn = self.senders[lane]
        arrived = self._expect(key)
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("INSERT INTO bench_floor (n) VALUES (1)")
        started = time.perf_counter()
        await transaction.commit()
        await conn.execute("SELECT pg_notify('bench_raw', $1)", key)
        await asyncio.wait_for(arrived, 30)
        return self.arrivals.pop(key) - started

    async def bus(self, key: str, wait: bool = True) -> float:
        arrived = self._expect(key) if wait else None
        async with self.sessions() as session:
            await session.begin()
            events.publish(session, "bench.tick", {"k": key})
            started = time.perf_counter()
            await session.commit()
        if arrived is None:
            return 0.0
        await asyncio.wait_for(arrived, 30)
        return self.arrivals.pop(key) - started

    async def close(self) -> None:
        await self.listener.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for conn in (self.listen, *self.senders):
            await conn.close()
        await self.engine.dispose()


async def latency(lab: Lab, lanes: int, count: int) -> dict[str, list[float]]:
    """Each lane runs the three probes in turn, rotating their order, so all sample the same moments."""
    found: dict[str, list[float]] = {"raw": [], "durable": [], "bus": []}

    async def lane(number: int) -> None:
        for index in range(-20, count):  # 20 warm-up rounds, not counted
            probes: list[tuple[str, Callable[[str], Awaitable[float]]]] = [
                ("raw", functools.partial(lab.raw, number)),
                ("durable", functools.partial(lab.raw_durable, number)),
                ("bus", lab.bus),
            ]
            shift = index % len(probes)
            for name, probe in probes[shift:] + probes[:shift]:
                seconds = await probe(f"{name}{lanes}:{number}:{index}")
                if index >= 0:
                    found[name].append(seconds)

    await asyncio.gather(*(lane(n) for n in range(lanes)))
    return found


async def throughput(lab: Lab, seconds: float) -> tuple[float, float, float, int]:
    """(bus commits/s, raw hand-over commits/s, floor commits/s, events) with LANES lanes for `seconds` each."""

    async def run_lanes(one: Callable[[int, int], Awaitable[Any]]) -> tuple[float, int]:
        done = [0]
        deadline = time.perf_counter() + seconds

        async def lane(number: int) -> None:
            while time.perf_counter() < deadline:
                await one(number, done[0])
                done[0] += 1

        started = time.perf_counter()
        await asyncio.gather(*(lane(n) for n in range(LANES)))
        return done[0] / (time.perf_counter() - started), done[0]

    async def floor(lane: int, number: int) -> None:
        await lab.senders[lane].execute("INSERT INTO bench_floor (n) VALUES ($1)", number)

    async def bus(_lane: int, number: int) -> None:
        await lab.bus(f"t:{number}:{time.perf_counter_ns()}", wait=False)

    async def handover(lane: int, number: int) -> None:
        """The session's hand-over done with asyncpg: the database's side of a publish, without the ORM."""
        conn = lab.senders[lane]
        async with conn.transaction():
            await conn.execute("INSERT INTO event_batch (rows) VALUES ($1::jsonb)",
                               f'[{{"type": "bench.tick", "data": {{"k": "h:{number}:{time.perf_counter_ns()}"}},'
                               f' "audience": "staff"}}]')
        if announce is not None:  # what core.events does after a commit (absent before the announcer)
            announce(lab.dsn)

    floor_rate, _ = await run_lanes(floor)
    handover_rate, handovers = await run_lanes(handover)
    bus_rate, commits = await run_lanes(bus)
    return bus_rate, handover_rate, floor_rate, commits + handovers


async def run(url: str) -> None:
    await upgrade(url)
    setting = os.environ.get("BENCH_SYNCHRONOUS_COMMIT")
    if setting in ("on", "off", "local", "remote_write", "remote_apply"):  # "off": the software's cost alone
        admin = await asyncpg.connect(asyncpg_dsn(url))
        await admin.execute(f"ALTER DATABASE {await admin.fetchval('SELECT current_database()')}"
                            f" SET synchronous_commit = {setting}")
        await admin.close()
    lab = Lab(url)
    await lab.open()
    admin = await asyncpg.connect(lab.dsn)
    print(f"synchronous_commit = {await admin.fetchval('SHOW synchronous_commit')}, "
          f"server {await admin.fetchval('SHOW server_version')}, load {os.getloadavg()[0]:.2f}")
    await admin.close()
    verdicts = []
    try:
        for lanes in (1, LANES):
            found = await latency(lab, lanes, EVENTS)
            raw, durable, bus = found["raw"], found["durable"], found["bus"]
            added = pct(bus, 0.99) - pct(raw, 0.99)
            verdicts.append(added < 2.0)
            print(f"{lanes} publisher(s), {len(bus)} of each probe, interleaved:")
            for label, values in (("raw pg_notify -> LISTEN", raw),
                                  ("raw INSERT tx: COMMIT, NOTIFY -> LISTEN", durable),
                                  ("bus: commit() -> EventStream subscriber", bus)):
                print(f"  {label:<42} p50 {pct(values, 0.5):6.2f} ms   p99 {pct(values, 0.99):6.2f} ms")
            print(f"  bus added at p99: {added:+.2f} ms over raw NOTIFY -> {'MET' if added < 2.0 else 'MISSED'}"
                  f" (aim < 2 ms); {pct(bus, 0.99) - pct(durable, 0.99):+.2f} ms over the raw durable commit")
        before = len(lab.delivered_keys)
        bus_rate, handover_rate, floor_rate, commits = await throughput(lab, SECONDS)
        deadline = time.perf_counter() + 30
        while len(lab.delivered_keys) - before < commits and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        tail = lab.delivered_keys[before:]
        exact = len(tail) == commits and len(set(tail)) == commits
        print(f"{LANES} publishers, commits/s for {SECONDS:.0f} s each:")
        print(f"  floor: one-row INSERT, autocommit   {floor_rate:8.0f}/s")
        print(f"  hand-over with asyncpg, no ORM      {handover_rate:8.0f}/s   ratio to floor "
              f"{handover_rate / floor_rate:.2f}")
        print(f"  bus: publish + commit (ORM session) {bus_rate:8.0f}/s   ratio to floor {bus_rate / floor_rate:.2f}")
        print(f"  every one of the {commits} events delivered exactly once: {'yes' if exact else 'NO'}")
        print(f"aim (added p99 < 2 ms with 1 and {LANES} publishers): {'MET' if all(verdicts) else 'MISSED'}")
    finally:
        await lab.close()


async def _on_a_scratch_database() -> None:
    async with scratch_database("event_bus") as url:
        await run(url)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_on_a_scratch_database())


if __name__ == "__main__":
    main()
