"""Benchmark: one SLA watch pass over 1,000,000 tickets of which 100,000 are open.

Data are generated with generate_series into a database of their own (BENCH_DATABASE_URL's server,
or an embedded PostgreSQL in a temporary directory). Printed: the pass times (steady state, one
simulated minute apart; and a burst where 30 minutes of alerts fall due at once), the raw baseline
of the same run (plain asyncpg: the due-ticket index read alone, and the naive query over open
tickets that the watch avoids), and EXPLAIN (ANALYZE, BUFFERS) of every statement of a pass.

usage: python bench/sla_watch.py [--tickets 1000000] [--open 100000] [--passes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import scratch_database
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.i18n import load_translator
from core.migrate import upgrade
from core.settings import load_settings
from core.sla import watch as watch_module
from core.sla.watch import SlaWatch
from desk import build_channels

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WARN = timedelta(hours=1)

GENERATE = [
    """INSERT INTO contact (name) SELECT 'Customer ' || g FROM generate_series(1, 20000) g""",
    """INSERT INTO contact_identity (contact_id, channel, external_id, display_name)
       SELECT id, 'email', 'c' || id || '@bench.test', name FROM contact""",
    """INSERT INTO operator (email, password_hash, display_name, role, language, telegram_user_id)
       SELECT 'op' || g || '@bench.test', 'x', 'Operator ' || g, 'operator',
              CASE WHEN g % 2 = 0 THEN 'ru' ELSE 'en' END, 900000 + g
       FROM generate_series(1, 20) g""",
    """INSERT INTO queue_member (queue_id, operator_id) SELECT q.id, o.id FROM queue q JOIN operator o
       ON o.id % 5 = q.id % 5""",
    # closed history: created over 90 days, answered and resolved
    """INSERT INTO ticket (subject, status, priority, channel, queue_id, contact_id, created_at, updated_at,
                          closed_at, frt_due_at, ttr_due_at, first_response_at, resolved_at, sla_started_at,
                          sla_paused_at)
       SELECT 'Closed ' || g, 'closed', (ARRAY['low','medium','high','urgent'])[1 + g % 4], 'email',
              1 + g % 5, 1 + g % 20000, c, c, c + r * interval '30 hours', c + interval '4 hours',
              c + interval '24 hours', c + r * interval '5 hours', c + r * interval '30 hours', c,
              c + r * interval '30 hours'
       FROM (SELECT g, :now - random() * interval '90 days' AS c, random() AS r
             FROM generate_series(1, :closed) g) s""",
    # open tickets: opened within 3 days, half answered, one in ten waiting for the customer
    """INSERT INTO ticket (subject, status, priority, channel, queue_id, contact_id, assignee_id, created_at,
                          updated_at, frt_due_at, ttr_due_at, first_response_at, sla_started_at, sla_paused_at)
       SELECT 'Open ' || g, CASE WHEN g % 10 = 0 THEN 'waiting_customer' WHEN g % 2 = 0 THEN 'in_progress'
                                 ELSE 'open' END,
              p, 'email', 1 + g % 5, 1 + g % 20000, CASE WHEN g % 3 = 0 THEN 1 + g % 20 END, c, c,
              c + (CASE p WHEN 'urgent' THEN 15 WHEN 'high' THEN 60 WHEN 'medium' THEN 240 ELSE 480 END)
                  * interval '1 minute',
              CASE WHEN g % 10 <> 0 THEN c + (CASE p WHEN 'urgent' THEN 4 WHEN 'high' THEN 8 WHEN 'medium' THEN 24
                                                   ELSE 72 END) * interval '1 hour' END,
              CASE WHEN g % 2 = 0 THEN c + interval '10 minutes' END, c,
              CASE WHEN g % 10 = 0 THEN c + interval '1 hour' END
       FROM (SELECT g, (ARRAY['low','medium','high','urgent'])[1 + g % 4] AS p,
                    :now - random() * interval '3 days' AS c
             FROM generate_series(1, :open) g) s""",
    # where the previous passes left each open ticket: its next warning or deadline after the last pass
    """UPDATE ticket SET sla_next_check_at = LEAST(
           CASE WHEN first_response_at IS NULL AND status <> 'waiting_customer' THEN
               CASE WHEN frt_due_at - interval '1 hour' > :last THEN frt_due_at - interval '1 hour'
                    WHEN frt_due_at > :last THEN frt_due_at END END,
           CASE WHEN sla_paused_at IS NULL THEN
               CASE WHEN ttr_due_at - interval '1 hour' > :last THEN ttr_due_at - interval '1 hour'
                    WHEN ttr_due_at > :last THEN ttr_due_at END END)
       WHERE status <> 'closed'""",
    "ANALYZE",
]

NAIVE = """
    SELECT t.id FROM ticket t
    WHERE t.status <> 'closed'
      AND ((t.first_response_at IS NULL AND t.frt_due_at <= $1::timestamptz + interval '1 hour')
           OR (t.sla_paused_at IS NULL AND t.ttr_due_at <= $1::timestamptz + interval '1 hour'))
      AND NOT EXISTS (SELECT 1 FROM sla_alert a WHERE a.ticket_id = t.id AND a.stage = 'breach')
"""


class StatementTimes:
    """Where a pass spends its time: wall time per kind of statement, from the engine's own hooks."""

    def __init__(self, engine: object) -> None:
        self.totals: dict[str, float] = {}
        sync = engine.sync_engine  # type: ignore[attr-defined]
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        words = " ".join(statement.split()[:3])
        self.totals[words] = self.totals.get(words, 0.0) + time.perf_counter() - conn.info.pop("bench_started")

    def report(self, passes: int) -> str:
        rows = sorted(self.totals.items(), key=lambda item: -item[1])
        return "\n".join(f"  {1000 * seconds / passes:8.1f} ms  {words}" for words, seconds in rows)


class StepClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def generate(dsn: str, total: int, open_: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        values = {"now": NOW, "closed": total - open_, "open": open_, "last": NOW - timedelta(minutes=1)}
        casts = {"now": "timestamptz", "closed": "int", "open": "int", "last": "timestamptz"}
        for statement in GENERATE:
            names = [name for name in values if f":{name}" in statement]
            sql = statement
            for index, name in enumerate(names, 1):
                sql = sql.replace(f":{name}", f"${index}::{casts[name]}")
            await conn.execute(sql, *(values[name] for name in names))
    finally:
        await conn.close()
    return time.perf_counter() - started


async def explain(dsn: str, title: str, sql: str, *args: object) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
        await tx.rollback()
    finally:
        await conn.close()
    plan = [row[0] for row in rows]
    print(f"\n--- {title}")
    print("\n".join(plan))
    return plan


def to_asyncpg(sql: str, names: list[str]) -> str:
    for index, name in enumerate(names, 1):
        sql = sql.replace(f":{name}", f"${index}")
    return sql


async def raw_baseline(dsn: str, now: datetime) -> tuple[float, float, int]:
    conn = await asyncpg.connect(dsn)
    try:
        timings, naive = [], []
        found = 0
        for _ in range(5):
            started = time.perf_counter()
            await conn.fetch("SELECT id FROM ticket WHERE sla_next_check_at IS NOT NULL AND sla_next_check_at <= $1"
                             " ORDER BY sla_next_check_at LIMIT 500", now)
            timings.append(time.perf_counter() - started)
            started = time.perf_counter()
            found = len(await conn.fetch(NAIVE, now))
            naive.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return statistics.median(timings) * 1000, statistics.median(naive) * 1000, found


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    args = parser.parse_args()
    async with scratch_database("sla", keep=args.keep) as url:
        await run(url, args)


async def run(url: str, args: argparse.Namespace) -> None:
    await upgrade(url)
    dsn = asyncpg_dsn(url)
    seconds = await generate(dsn, args.tickets, args.open)
    conn = await asyncpg.connect(dsn)
    counts = await conn.fetchrow("SELECT count(*) AS total, count(*) FILTER (WHERE status <> 'closed') AS open,"
                                 " count(sla_next_check_at) AS watched FROM ticket")
    await conn.close()
    print(f"generated {counts['total']:,} tickets ({counts['open']:,} open, {counts['watched']:,} watched) "
          f"in {seconds:.1f} s")
    engine = create_engine(url, pool_size=2)
    clock = StepClock(NOW)
    watch = SlaWatch(create_session_factory(engine, channels=build_channels(load_settings(_env_file=None))),
                     load_translator(), clock=clock, warn_before=WARN)
    times, emitted, checked = [], 0, 0
    await watch.run()  # warm the pool and caches
    statements = StatementTimes(engine)
    for step in range(1, args.passes + 1):
        clock.current = NOW + timedelta(minutes=step)
        started = time.perf_counter()
        result = await watch.run()
        times.append((time.perf_counter() - started) * 1000)
        emitted += len(result.emitted)
        checked += result.checked
    print("\nsteady pass, time per statement (per pass; COMMIT includes the events written before it):")
    print(statements.report(args.passes))
    idle = []
    for _ in range(5):  # same minute again: nothing due, so the pass ends with the "on time" check
        started = time.perf_counter()
        await watch.run()
        idle.append((time.perf_counter() - started) * 1000)
    clock.current = NOW + timedelta(minutes=args.passes + 30)
    started = time.perf_counter()
    burst = await watch.run()
    burst_ms = (time.perf_counter() - started) * 1000
    index_ms, naive_ms, naive_rows = await raw_baseline(dsn, clock.current)
    print(f"\nsteady pass (one simulated minute apart, {args.passes} passes): median {statistics.median(times):.1f} ms,"
          f" max {max(times):.1f} ms; {checked} tickets checked, {emitted} alerts emitted in all")
    print(f"idle pass (nothing due; counts missed deadlines up to {watch_module.OVERDUE_CAP}): "
          f"median {statistics.median(idle):.1f} ms, max {max(idle):.1f} ms")
    print(f"burst pass (30 minutes of work at once): {burst_ms:.1f} ms; {burst.checked} tickets checked, "
          f"{len(burst.emitted)} alerts emitted")
    print(f"raw baseline (plain asyncpg): due-ticket index read {index_ms:.2f} ms; naive scan of open tickets "
          f"{naive_ms:.1f} ms ({naive_rows} rows)")
    now = clock.current + timedelta(minutes=1)
    plans = []
    plans += await explain(dsn, "watch: due tickets (FOR UPDATE SKIP LOCKED)",
                           to_asyncpg(str(watch_module._DUE.text), ["now", "limit"]), now, 500)
    plans += await explain(dsn, "watch: move next checks",
                           to_asyncpg(str(watch_module._MOVE.text), ["ids", "nexts"]),
                           list(range(1, 501)), [now + timedelta(hours=1)] * 500)
    plans += await explain(dsn, "watch: missed deadlines (the 'on time' line)",
                           to_asyncpg(str(watch_module._OVERDUE.text), ["now", "cap"]), now,
                           watch_module.OVERDUE_CAP)
    plans += await explain(dsn, "alert ledger insert",
                           "INSERT INTO sla_alert (ticket_id, target, stage, revision, due_at, created_at)"
                           " VALUES (1, 'resolution', 'warning', 0, $1, $1) ON CONFLICT DO NOTHING", now)
    seq = [line for line in plans if "Seq Scan on ticket" in line]
    print(f"\nsequential scans of ticket in the pass's plans: {len(seq)}")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
