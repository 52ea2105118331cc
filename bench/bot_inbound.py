"""Inbound throughput of the bot in webhook mode, against plain asyncpg inserts in the same run.

    python bench/bot_inbound.py [--updates 2000] [--concurrency 32] [--seconds 10] [--processes 1]

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
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

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


async def start_bots(telegram: TelegramServer, url: str, count: int) -> tuple[list[subprocess.Popen], list[str]]:
    processes, hooks = [], []
    for _ in range(count):
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "DESK_DATA_DIR": tempfile.mkdtemp(prefix="desk-bench-"),
               "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_BASE": telegram.base,
               "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}", "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
               "WEB_PORT": str(port), "LOG_LEVEL": "ERROR"}
        mark = telegram.mark()
        processes.append(subprocess.Popen([sys.executable, "desk.py", "run", "--only", "bot", "--no-migrate"],
                                          cwd=ROOT, env=env))
        await telegram.wait_for_call("setWebhook", timeout=60, since=mark)
        await listening(port)
        hooks.append(f"http://127.0.0.1:{port}/telegram/webhook")
    return processes, hooks


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


async def main(args: argparse.Namespace) -> None:
    pg = PostgresForTests()
    pg.start()
    telegram = TelegramServer()
    await telegram.start()
    try:
        url = pg.url_for(await pg.create_database())
        await upgrade(url)
        users = await prepare(url)
        for user_id in users:
            telegram.user(f"C{user_id}", user_id=user_id)
        load_before = os.getloadavg()[0]
        raw_before = await raw_inserts(asyncpg_dsn(url), args.updates, args.concurrency)
        raw_single = await raw_inserts(asyncpg_dsn(url), args.updates, 1)
        plain_rate, aiogram_rate, batched_rate = await floor(asyncpg_dsn(url), args.concurrency, args.updates * 2)
        processes, hooks = await start_bots(telegram, url, args.processes)
        try:
            await throughput(hooks, users, 1, 200, args.concurrency)  # warm-up
            rate = await throughput(hooks, users, 1000, args.updates, args.concurrency)
            conn = await asyncpg.connect(asyncpg_dsn(url))
            stored = await conn.fetchval("SELECT count(*) FROM message WHERE author_kind = 'customer'")
            durability = await conn.fetchval("SHOW synchronous_commit")
            await conn.close()
            latencies = sorted(await latency(hooks, users, 1000 + args.updates, rate / 2, args.seconds))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
        raw_after = await raw_inserts(asyncpg_dsn(url), args.updates, args.concurrency)
        raw = (raw_before + raw_after) / 2  # the machine's load drifts; the desk ran between the two
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(f"raw asyncpg single-row inserts : {raw:8.0f} rows/s  (before {raw_before:.0f}, after {raw_after:.0f}; "
              f"concurrency {args.concurrency}; synchronous_commit={durability} on both sides)")
        print(f"machine                        : {os.cpu_count()} CPUs, load average {load_before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after")
        print(f"raw inserts on one connection  : {raw_single:8.0f} rows/s")
        print(f"floor, aiohttp alone           : {plain_rate:8.0f} requests/s  ({plain_rate / raw:.2f} of raw)")
        print(f"floor, aiohttp + aiogram no-op : {aiogram_rate:8.0f} updates/s  ({aiogram_rate / raw:.2f} of raw)")
        print(f"floor, + group-commit writer   : {batched_rate:8.0f} updates/s  ({batched_rate / raw:.2f} of raw; "
              "4 multi-row statements per batch, no rules)")
        print(f"webhook updates committed      : {rate:8.0f} updates/s  ({rate / raw:.2f} of raw, "
              f"{rate / raw_single:.2f} of one connection's; {stored} messages stored; "
              f"{args.processes} bot process(es))")
        print(f"latency at half load ({rate / 2:.0f}/s, {len(latencies)} updates): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(f"aim: >= 1/3 of raw at the same concurrency -> {'MET' if rate >= raw / 3 else 'MISSED'}; "
              f"p99 < 50 ms at half load -> {'MET' if p99 < 50 else 'MISSED'}")
    finally:
        await telegram.stop()
        pg.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=1, help="desk bot processes behind the load")
    asyncio.run(main(parser.parse_args()))
