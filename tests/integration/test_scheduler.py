"""Leader election on a PostgreSQL advisory lock: one scheduler runs the jobs; another takes over."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg

from core.scheduler import LEADER_LOCK, LeaderScheduler
from tests.integration.test_listener_reconnect import terminate_backends
from tests.waiting import eventually, running

Runs = list[tuple[str, float]]


def candidate(dsn: str, name: str, runs: Runs) -> LeaderScheduler:
    scheduler = LeaderScheduler(
        dsn, retry_seconds=0.2, name=name, application_name=f"desk-scheduler-{name}-{uuid.uuid4().hex[:6]}"
    )

    async def tick() -> None:
        runs.append((name, time.monotonic()))

    scheduler.add("tick", tick, 0.1)
    return scheduler


async def elect(first: LeaderScheduler, second: LeaderScheduler, runs: Runs) -> tuple[LeaderScheduler, LeaderScheduler]:
    await eventually(lambda: first.is_leader or second.is_leader)
    await eventually(lambda: len(runs) >= 3)
    assert first.is_leader != second.is_leader, "exactly one leader"
    leader, follower = (first, second) if first.is_leader else (second, first)
    assert {name for name, _at in runs} == {leader.name}, "only the leader runs the jobs"
    return leader, follower


async def test_one_leader_runs_the_jobs_and_the_other_takes_over_when_its_connection_dies(dsn: str) -> None:
    runs: Runs = []
    a, b = candidate(dsn, "a", runs), candidate(dsn, "b", runs)
    async with running(a.run(), b.run()):
        leader, follower = await elect(a, b, runs)
        assert await terminate_backends(dsn, leader.application_name) == 1
        await eventually(lambda: follower.is_leader, timeout=5)
        took_over = time.monotonic()
        await eventually(lambda: any(name == follower.name for name, _at in runs), timeout=5)
        await asyncio.sleep(0.5)
        assert not leader.is_leader
        assert {name for name, at in runs if at > took_over + 0.05} == {follower.name}


async def test_a_stopped_leader_hands_over(dsn: str) -> None:
    runs: Runs = []
    a, b = candidate(dsn, "a", runs), candidate(dsn, "b", runs)
    async with running(a.run(), b.run()) as tasks:
        leader, follower = await elect(a, b, runs)
        await leader.stop()
        await asyncio.wait_for(tasks[0 if leader is a else 1], 5)
        stopped = time.monotonic()
        await eventually(lambda: follower.is_leader, timeout=5)
        await eventually(lambda: any(name == follower.name for name, _at in runs), timeout=5)
    assert {name for name, at in runs if at > stopped} == {follower.name}


async def test_a_failing_job_does_not_stop_the_schedule(dsn: str) -> None:
    calls: list[float] = []
    scheduler = LeaderScheduler(dsn, retry_seconds=0.2, application_name=f"desk-scheduler-{uuid.uuid4().hex[:6]}")

    async def broken() -> None:
        calls.append(time.monotonic())
        raise RuntimeError("job bug")

    scheduler.add("broken", broken, 0.1)
    async with running(scheduler.run()):
        await eventually(lambda: len(calls) >= 3)
        assert scheduler.is_leader


async def test_stop_lets_a_job_run_in_flight_finish_before_the_lock_is_released(dsn: str) -> None:
    started = asyncio.Event()
    finished: list[bool] = []
    scheduler = LeaderScheduler(dsn, retry_seconds=0.2, application_name=f"desk-scheduler-{uuid.uuid4().hex[:6]}")

    async def slow() -> None:
        started.set()
        await asyncio.sleep(0.4)
        finished.append(True)

    scheduler.add("slow", slow, 0.1)
    async with running(scheduler.run()) as (task,):
        await asyncio.wait_for(started.wait(), 5)
        await scheduler.stop()
        assert finished == [True]
        assert task.done()
    assert not scheduler.is_leader


class StateLog(dict[str, str]):
    """A status board that remembers every state it was given, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[str] = []

    def __setitem__(self, key: str, value: str) -> None:
        if not self.history or self.history[-1] != value:
            self.history.append(value)
        super().__setitem__(key, value)


async def test_a_leader_whose_lock_connection_dies_says_so_and_leads_again_with_every_job(dsn: str) -> None:
    board = StateLog()
    name = f"desk-scheduler-{uuid.uuid4().hex[:6]}"
    scheduler = LeaderScheduler(dsn, retry_seconds=0.3, application_name=name, status=board)
    ticks: list[float] = []
    failures: list[float] = []

    async def tick() -> None:
        ticks.append(time.monotonic())

    async def broken() -> None:
        failures.append(time.monotonic())
        raise RuntimeError("job bug")

    scheduler.add("tick", tick, 0.1)
    scheduler.add("broken", broken, 0.1)
    async with running(scheduler.run()) as (task,):
        await eventually(lambda: len(ticks) >= 3 and len(failures) >= 3)
        assert board["scheduler"] == "leader"

        assert await terminate_backends(dsn, name) == 1
        lost = time.monotonic()
        await eventually(lambda: not scheduler.is_leader)
        assert board["scheduler"] in ("down", "standby"), "not leading, so it must not say leader"
        await eventually(lambda: scheduler.is_leader, timeout=5)
        assert board["scheduler"] == "leader"
        await eventually(lambda: sum(at > lost for at in ticks) >= 2 and sum(at > lost for at in failures) >= 2)
        assert not task.done()
    assert board.history[:3] == ["leader", "down", "leader"]


async def test_a_job_that_fell_due_while_another_led_runs_once_when_this_process_leads_again(dsn: str) -> None:
    """The lock connection dies and something else holds the lock past the job's due time (as while
    PostgreSQL restarts): leading again, the scheduler runs the job at once, once, not an interval later."""
    name = f"desk-scheduler-{uuid.uuid4().hex[:6]}"
    scheduler = LeaderScheduler(dsn, retry_seconds=0.2, application_name=name, first_run_seconds=0.1)
    runs: list[float] = []

    async def slow_paced() -> None:
        runs.append(time.monotonic())

    scheduler.add("slow_paced", slow_paced, 3.0)
    holder = await asyncpg.connect(dsn)
    try:
        async with running(scheduler.run()):
            await eventually(lambda: len(runs) == 1, timeout=5)
            for _ in range(20):  # take the lock away: end its connection, then win the race for it
                await terminate_backends(dsn, name)
                if await holder.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
                    break
            else:
                raise AssertionError("the lock could not be taken from the scheduler")
            await eventually(lambda: not scheduler.is_leader)
            await asyncio.sleep(runs[0] + 3.5 - time.monotonic())  # due at +3 s, while not leading
            assert len(runs) == 1
            await holder.fetchval("SELECT pg_advisory_unlock($1)", LEADER_LOCK)
            released = time.monotonic()
            await eventually(lambda: len(runs) == 2, timeout=2)
            assert runs[1] - released < 1.5, "the missed run came at once, not an interval later"
            await asyncio.sleep(1.0)
            assert len(runs) == 2, "one run for the missed one, then the interval again"
    finally:
        await holder.close()


async def test_a_new_leader_starts_a_job_it_never_ran_within_first_run_seconds(dsn: str) -> None:
    """An hourly job does not wait an hour after each start (a desk restarted more often never ran it)."""
    scheduler = LeaderScheduler(dsn, retry_seconds=0.2, application_name=f"desk-scheduler-{uuid.uuid4().hex[:6]}",
                                first_run_seconds=0.5)
    runs: list[float] = []

    async def hourly() -> None:
        runs.append(time.monotonic())

    scheduler.add("hourly", hourly, 3600.0)
    async with running(scheduler.run()):
        await eventually(lambda: scheduler.is_leader)
        elected = time.monotonic()
        await eventually(lambda: len(runs) == 1, timeout=3)
        assert 0.3 < runs[0] - elected < 1.5
