"""APScheduler owned by core; only the holder of a PostgreSQL advisory lock runs the jobs.

The lock lives on a dedicated connection: when the leader dies (or its connection does), PostgreSQL
releases the lock and the next candidate that asks gets it.

Each election starts the jobs again. A job this process has run before keeps its pace: its next run
is one interval after its last one here, at once if that fell due while the process was not leading
(a PostgreSQL restart), coalesced into one run. A job it never ran starts within `first_run_seconds`,
not a whole interval later: an hourly job still runs when the desk restarts more often than hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

LEADER_LOCK = 7_201_002
STATUS = "scheduler"

Job = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    """A periodic job. Jobs take no ORM objects: they open their own session per run."""

    id: str
    func: Job
    seconds: float


@dataclass
class LeaderScheduler:
    dsn: str
    jobs: list[JobSpec] = field(default_factory=list)
    retry_seconds: float = 2.0
    drain_seconds: float = 10.0
    first_run_seconds: float = 10.0  # a job this process never ran runs this soon after an election
    name: str = "desk"
    application_name: str = "desk-scheduler"
    is_leader: bool = False
    status: MutableMapping[str, str] = field(default_factory=dict)
    _conn: asyncpg.Connection | None = None
    _scheduler: AsyncIOScheduler | None = None
    _stopping: bool = False
    _lost: asyncio.Event = field(default_factory=asyncio.Event)
    _stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.Task[None] | None = None
    _jobs_running: set[asyncio.Task[Any]] = field(default_factory=set)
    _last_run: dict[str, float] = field(default_factory=dict)  # job id -> when its last run here began (epoch)

    def add(self, job_id: str, func: Job, seconds: float) -> None:
        self.jobs.append(JobSpec(job_id, func, seconds))

    async def run(self) -> None:
        """Until stop(): try to lead; while another process leads, try again every `retry_seconds`.
        Any failure is logged and retried (the loop only ends on stop())."""
        self._loop = asyncio.current_task()
        while not self._stopping:
            try:
                if await self._try_lead():
                    self.status[STATUS] = "leader"
                    await self._lead()
                    if not self._stopping:  # the lock connection is gone, and the lock with it
                        log.warning("scheduler lost its lock connection; trying again")
                        self.status[STATUS] = "down"
                else:
                    self.status[STATUS] = "standby"
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("scheduler lock connection failed", extra={"error": str(exc)})
                self.status[STATUS] = "down"
            except Exception:
                log.exception("scheduler failed; trying again")
                self.status[STATUS] = "down"
            finally:
                await self._step_down()
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_requested.wait(), self.retry_seconds)
        self.status[STATUS] = "off"

    async def _try_lead(self) -> bool:
        self._conn = await asyncpg.connect(self.dsn, timeout=5.0,
                                           server_settings={"application_name": self.application_name})
        self._lost.clear()
        self._conn.add_termination_listener(lambda _c: self._lost.set())
        got = await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK)
        return bool(got)

    async def _lead(self) -> None:
        self.is_leader = True
        log.info("scheduler leader elected", extra={"instance": self.name})
        # misfire_grace_time None: a run the loop could not start on time (a busy CPU) runs late, once,
        # rather than being skipped until the next interval.
        self._scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                         "misfire_grace_time": None})
        now = time.time()
        for spec in self.jobs:
            first = self._first_run(spec, now)
            self._scheduler.add_job(self._guarded(spec), "interval", seconds=spec.seconds, id=spec.id,
                                    next_run_time=datetime.fromtimestamp(first, UTC))
        self._scheduler.start()
        while not self._stopping and not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), 5.0)
            if self._conn is not None and not self._lost.is_set() and not self._stopping:
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), 5.0)

    def _first_run(self, spec: JobSpec, now: float) -> float:
        last = self._last_run.get(spec.id)
        if last is None:
            return now + min(spec.seconds, self.first_run_seconds)
        due = last + spec.seconds
        if due < now:
            log.info("scheduler runs a job that fell due while it was not leading",
                     extra={"job": spec.id, "late_seconds": round(now - due, 1)})
        return max(now, due)

    async def _step_down(self) -> None:
        if self._scheduler is not None:
            self._scheduler.pause()  # no new runs; shutdown would cancel the ones in flight, so wait first
            if self._jobs_running:
                await asyncio.wait(set(self._jobs_running), timeout=self.drain_seconds)
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self.is_leader:
            log.info("scheduler leader stepped down", extra={"instance": self.name})
        self.is_leader = False
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)

    async def run_now(self, job_id: str) -> None:
        """Run one job immediately (tests, `desk` commands)."""
        spec = next(spec for spec in self.jobs if spec.id == job_id)
        await spec.func()

    async def stop(self) -> None:
        """Stop leading: no new runs, runs in flight finish (up to `drain_seconds`), the lock is released."""
        self._stopping = True
        self._lost.set()
        self._stop_requested.set()
        loop = self._loop
        if loop is not None and loop is not asyncio.current_task() and not loop.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(loop), self.drain_seconds + 5)

    def _guarded(self, spec: JobSpec) -> Callable[[], Awaitable[Any]]:
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._jobs_running.add(task)
            self._last_run[spec.id] = time.time()
            try:
                await spec.func()
            except Exception:
                log.exception("scheduled job failed", extra={"job": spec.id})
            finally:
                self._jobs_running.discard(task)  # type: ignore[arg-type]

        return run
