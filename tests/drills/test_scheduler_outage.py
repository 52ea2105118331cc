"""The leader scheduler's jobs through two real `desk run` processes beside a busy CPU while PostgreSQL
stops for 6 s: exactly one process leads at any time, the SLA watch (every second) runs only on the
leader and runs again after the outage, the lock is taken again, and `housekeeping.prune_kb_misses`
(every 5 s here, PRUNE_SECONDS) due during the outage deletes the old missed questions once after it.
Both processes exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.botapi import TelegramServer
from tests.drills.customers import dead_letters
from tests.drills.postgres import ExternalPostgres, free_port
from tests.drills.process import DeskProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

OUTAGE = 6.0
PRUNE = 5.0
OLD_MISSES = 7
RECOVER_WITHIN = 20.0


@dataclass(frozen=True)
class Line:
    desk: str
    at: float  # epoch seconds
    msg: str
    extra: dict[str, Any]


def lines(desk: DeskProcess, name: str) -> list[Line]:
    found = []
    for raw in desk.log.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and "ts" in entry:
            found.append(Line(name, datetime.fromisoformat(entry["ts"]).timestamp(), str(entry.get("msg", "")),
                              entry))
    return found


def leaderships(log: list[Line]) -> list[tuple[float, float]]:
    """[elected, stepped down) of one process (an open end: still leading)."""
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for line in log:
        if line.msg == "scheduler leader elected":
            start = line.at
        elif line.msg == "scheduler leader stepped down" and start is not None:
            spans.append((start, line.at))
            start = None
    if start is not None:
        spans.append((start, float("inf")))
    return spans


async def add_old_misses(dsn: str, tag: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.executemany(
            "INSERT INTO kb_miss (language, question, question_key, outcome, created_at)"
            " VALUES ('en', $1, $1, 'miss', now() - interval '100 days')",
            [(f"{tag} question {n}",) for n in range(OLD_MISSES)])
    finally:
        await conn.close()


async def old_misses(dsn: str, tag: str) -> int:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM kb_miss WHERE question LIKE $1", f"{tag} %"))
    finally:
        await conn.close()


async def scheduler_states(desks: dict[str, DeskProcess]) -> dict[str, str | None]:
    states: dict[str, str | None] = {}
    for name, desk in desks.items():
        answer = await desk.healthz()
        states[name] = answer[1].get("components", {}).get("scheduler") if answer is not None else None
    return states


async def test_one_leader_runs_the_jobs_across_a_database_restart(
    start_desk: Callable[..., DeskProcess], telegram: TelegramServer, drill_db: str,
    external_pg: ExternalPostgres, tmp_path: Path, cpu_burner: object,
) -> None:
    first = start_desk(SLA_WATCH_SECONDS="1", PRUNE_SECONDS=f"{PRUNE:g}")
    second = DeskProcess.start(tmp_path / "second", {**first.env, "WEB_PORT": str(free_port())})
    desks = {"first": first, "second": second}
    try:
        await asyncio.gather(first.wait_healthy(), second.wait_healthy())

        async def one_leader() -> bool:
            return sorted(map(str, (await scheduler_states(desks)).values())) == ["leader", "standby"]
        await first.wait_for(one_leader, "one leader and one standby", 30)

        # The prune runs every 5 s on the leader: once it took the first batch, the second falls due
        # 5 s later, and PostgreSQL stops 1 s after that run, for 6 s.
        await add_old_misses(drill_db, "before")

        async def first_batch_pruned() -> bool:
            return await old_misses(drill_db, "before") == 0
        await first.wait_for(first_batch_pruned, "the first old questions pruned", 30)
        pruned_at = time.monotonic()
        await add_old_misses(drill_db, "due")
        await asyncio.sleep(max(0.0, pruned_at + 1.0 - time.monotonic()))
        await asyncio.to_thread(external_pg.stop)
        stopped, stopped_at = time.time(), time.monotonic()
        await asyncio.sleep(OUTAGE)
        await asyncio.to_thread(external_pg.start)
        back, back_at = time.time(), time.monotonic()

        async def recovered() -> bool:
            return await old_misses(drill_db, "due") == 0 and await one_leader()
        await first.wait_for(recovered, "the due prune ran and one process leads again", RECOVER_WITHIN)
        pruned_after = time.monotonic() - back_at
        await asyncio.sleep(3.0)  # passes after the outage, and room for a second prune to show up

        logs = {name: lines(desk, name) for name, desk in desks.items()}
        spans = {name: leaderships(log) for name, log in logs.items()}
        passes = sorted((line for log in logs.values() for line in log if line.msg.startswith("SLA watch:")),
                        key=lambda line: line.at)
        prunes = [line for log in logs.values() for line in log
                  if line.msg.startswith("pruned") and "missed knowledge-base questions" in line.msg]
        late = [line for log in logs.values() for line in log if line.msg.startswith("scheduler runs a job")]
        overlapping = [(a, b) for a in spans["first"] for b in spans["second"] if a[0] < b[1] and b[0] < a[1]]
        outside = [(p.desk, p.at) for p in passes if not any(s <= p.at <= e + 0.5 for s, e in spans[p.desk])]
        after = [p for p in passes if p.at > back]
        print(f"\nscheduler across a {OUTAGE:g} s outage with two desks: leaderships "
              f"{ {n: len(s) for n, s in spans.items()} }, {len(passes)} SLA watch passes "
              f"({len([p for p in passes if p.at < stopped])} before, {len(after)} after), the prune due during "
              f"the outage ran {pruned_after:.1f} s after PostgreSQL was back "
              f"({'late run at the re-election' if late else 'first run of a new leader'}), "
              f"{(time.monotonic() - stopped_at):.0f} s from the stop to the end")
        problems: dict[str, object] = {
            "leaderships of both desks overlap": overlapping,
            "SLA watch passes outside their desk's leadership": outside,
            "no SLA watch pass after the outage": len(after) < 2,
            "old questions pruned not in one run each": sorted(line.extra.get("deleted") for line in prunes)
            != [OLD_MISSES, OLD_MISSES],
            "a late run logged by both desks or twice": len(late) > len({line.extra.get("job") for line in late}),
            "dead letters": await dead_letters(drill_db),
        }
        codes = await asyncio.gather(first.stop(signal.SIGTERM), second.stop(signal.SIGTERM))
        problems["SIGTERM exit codes"] = [code for code in codes if code != 0]
        assert not {what: found for what, found in problems.items() if found}, (
            f"{problems}\nleaderships {spans}\n{second.tail(30)}")
    finally:
        second.kill()
        if second.process.returncode not in (0, None):
            print(f"\n----- tail of {second.log_path} -----\n{second.tail(60)}")
