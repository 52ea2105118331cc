"""WebSocket fan-out: N panel sockets in one process, time until every one has a published event.

Three figures from the same run, same payload size, same N clients:
  plain     - a bare aiohttp WebSocket server that loops `send_str` over its sockets (the raw limit);
  hub       - the desk's hub (per-socket queues and senders, principal filtering) fed directly;
  pipeline  - the whole path: a committed transaction publishes an event, NOTIFY wakes the listener,
              the event stream reads it, the hub fans it out.
Optionally (--e2e) the end-to-end time from a customer update posted to the bot's webhook until an
operator socket has the message, at a steady rate of updates per second.

    python bench/ws_fanout.py [--clients 1000] [--rounds 20] [--e2e --rate 100 --seconds 5]
Uses TEST_DATABASE_URL when set, otherwise starts an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import events
from core.migrate import upgrade
from core.models import Event
from tests.pg import PostgresForTests
from tests.web.harness import login, make_operator, start_panel
from web.keys import HUB

PAYLOAD_BODY = "x" * 200


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def open_clients(
    url: str, count: int, headers: dict[str, str], cookies: Any = None, hello: bool = False
) -> tuple[aiohttp.ClientSession, list[aiohttp.ClientWebSocketResponse]]:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=cookies)
    sockets = []
    for start in range(0, count, 100):
        batch = await asyncio.gather(
            *(session.ws_connect(url, headers=headers, max_msg_size=0) for _ in range(start, min(count, start + 100)))
        )
        sockets.extend(batch)
    if hello:
        await asyncio.gather(*(ws.receive_json() for ws in sockets))
    return session, sockets


async def time_round(sockets: list[aiohttp.ClientWebSocketResponse], marker: str, publish: Any) -> list[float]:
    """Publish once; every socket's delay until it reads a frame carrying `marker`."""

    async def wait(ws: aiohttp.ClientWebSocketResponse) -> float:
        while True:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"socket closed: {message}")
            if marker in message.data:
                return time.perf_counter()

    waiters = [asyncio.ensure_future(wait(ws)) for ws in sockets]
    await asyncio.sleep(0)
    started = time.perf_counter()
    await publish(marker)
    done = await asyncio.wait_for(asyncio.gather(*waiters), 60)
    return [stamp - started for stamp in done]


async def plain_baseline(clients: int, rounds: int) -> list[list[float]]:
    sockets: list[web.WebSocketResponse] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)  # as the desk's hub: small JSON frames, no deflate
        await ws.prepare(request)
        sockets.append(ws)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    session, client_sockets = await open_clients(f"http://127.0.0.1:{server.port}/ws", clients, {})
    while len(sockets) < clients:
        await asyncio.sleep(0.01)

    async def broadcast(marker: str) -> None:
        text = json.dumps({"id": 1, "type": "message.created", "data": {"body": PAYLOAD_BODY, "marker": marker}})
        for ws in sockets:
            await ws.send_str(text)

    await time_round(client_sockets, "plain-warmup-", broadcast)
    delays = [await time_round(client_sockets, f"plain-{n}-", broadcast) for n in range(rounds)]
    for ws in client_sockets:
        await ws.close()
    await session.close()
    await server.close()
    return delays


async def desk_rounds(
    url: str, clients: int, rounds: int, data_dir: Path
) -> tuple[list[list[float]], list[list[float]]]:
    panel = await start_panel(url, data_dir, ws_resume_grace=0.05)
    sessions = panel.desk.sessions
    await make_operator(sessions, "bench@example.com")
    browser = panel.client()
    await login(panel, browser, "bench@example.com")
    session, sockets = await open_clients(
        panel.url("/ws"), clients, {"Origin": panel.origin}, cookies=browser.cookie_jar, hello=True
    )
    await asyncio.sleep(0.3)  # resume grace over: every socket is live
    hub = panel.app[HUB]
    assert len(hub.connections) == clients

    fake_ids = itertools.count(10**12)  # above every real id: sockets only take growing ids

    async def through_hub(marker: str) -> None:
        event = Event(
            id=next(fake_ids), type="message.created", data={"body": PAYLOAD_BODY, "marker": marker}, audience="staff"
        )
        await hub.on_events([event])

    async def through_database(marker: str) -> None:
        async with sessions() as db, db.begin():
            events.publish(db, "message.created", {"body": PAYLOAD_BODY, "marker": marker}, ticket_id=None)

    await time_round(sockets, "db-warmup-", through_database)
    pipeline = [await time_round(sockets, f"db-{n}-", through_database) for n in range(rounds)]
    await time_round(sockets, "hub-warmup-", through_hub)
    hub_only = [await time_round(sockets, f"hub-{n}-", through_hub) for n in range(rounds)]
    for ws in sockets:
        await ws.close()
    await session.close()
    await panel.close()
    return hub_only, pipeline


def report(name: str, rounds: list[list[float]]) -> float:
    """Per-socket receipt times over all rounds (p50/p99), and the time until ALL sockets had it."""
    each = [delay for one in rounds for delay in one]
    last = [max(one) for one in rounds]
    print(
        f"{name:<40} per socket p50 {pct(each, 0.5):7.1f} ms  p99 {pct(each, 0.99):7.1f} ms | "
        f"all have it p50 {pct(last, 0.5):7.1f} ms  p99 {pct(last, 0.99):7.1f} ms"
    )
    return pct(last, 0.5)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--e2e", action="store_true", help="also measure webhook update -> operator socket")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    import os
    import tempfile

    pg = PostgresForTests()
    pg.start()
    try:
        url = pg.url_for(await pg.create_database())
        await upgrade(url)
        data_dir = Path(tempfile.mkdtemp(prefix="desk-bench-"))
        print(
            f"{args.clients} sockets, {args.rounds} rounds, payload ~{len(PAYLOAD_BODY) + 80} bytes; "
            "figures: time until the LAST socket has the event"
        )
        plain = await plain_baseline(args.clients, args.rounds)
        hub_only, pipeline = await desk_rounds(url, args.clients, args.rounds, data_dir)
        base = report("plain aiohttp broadcast (baseline)", plain)
        hub = report("desk hub fan-out", hub_only)
        whole = report("desk commit->NOTIFY->stream->hub", pipeline)
        print(f"all-have-it p50 vs plain: hub {hub / base:.2f}x, whole pipeline {whole / base:.2f}x")
        if args.e2e:
            from bench.e2e_webhook import run_e2e

            await run_e2e(url, data_dir, rate=args.rate, seconds=args.seconds)
    finally:
        if not os.environ.get("KEEP_BENCH_DB"):
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
