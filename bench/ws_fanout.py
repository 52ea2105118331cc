"""WebSocket fan-out: N panel sockets in one process, time until every one has a published event.

The N clients live in a process of their own (bench/ws_clients.py), as browsers would; neither
side negotiates permessage-deflate. Three figures from the same run, same payload size, same number
of clients, their rounds interleaved so that each sees the same machine load:
  plain     - a bare aiohttp WebSocket server that loops `send_str` over its sockets (the raw limit);
  hub       - the desk's hub (principal filtering, idle sockets written in the pass, busy ones
              through a bounded backlog) fed directly with an event;
  pipeline  - the whole path: a committed transaction publishes an event, NOTIFY wakes the listener,
              the event stream reads it, the hub fans it out.
Optionally (--e2e) the end-to-end time from a customer update posted to the bot's webhook until an
operator socket has the message, at a steady rate of updates per second.

    python bench/ws_fanout.py [--clients 1000] [--rounds 20] [--e2e --rate 100 --seconds 5 --customers 10]
Uses TEST_DATABASE_URL when set, otherwise starts an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from yarl import URL

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.remote import LineProcess, PlainSockets, pct
from core import events
from core.heap import freeze_startup_heap
from core.migrate import upgrade
from core.models import Event
from tests.pg import PostgresForTests
from tests.web.harness import Panel, login, make_operator, start_panel
from web.keys import HUB

PAYLOAD_BODY = "x" * 200
CLIENTS = Path(__file__).resolve().parent / "ws_clients.py"


@dataclass
class Round:
    delays: list[float]  # per socket, publish -> the client read it
    publish: float  # until publish() returned: the server's write pass (plain, hub) or the commit


class RemoteClients(LineProcess):
    """N sockets held by bench/ws_clients.py in a process of their own (the browsers)."""

    @classmethod
    async def open(cls, url: str, count: int, headers: dict[str, str], hello: bool = False) -> RemoteClients:
        headers_args = [f"--header={k}: {v}" for k, v in headers.items()]
        clients = cls(await cls.spawn(str(CLIENTS), url, str(count), *headers_args, *(["--hello"] if hello else [])))
        await clients.expect("ready", timeout=120)
        return clients

    async def time_round(self, marker: str, publish: Any, prepare: Any = None) -> Round:
        """Publish once; every socket's delay until it read a frame carrying `marker`."""
        if prepare is not None:
            await prepare()
        self.send(f"expect {marker}")
        await self.expect("armed")
        started = time.monotonic()  # the clients stamp with the same system-wide clock
        await publish(marker)
        returned = time.monotonic()
        stamps = json.loads(await self.line(60))
        return Round([stamp - started for stamp in stamps], returned - started)


class PlainBroadcast(PlainSockets):
    """The raw limit: a bare aiohttp WebSocket server whose publish is a loop of `send_str`."""

    async def connect(self, clients: int) -> RemoteClients:
        remote = await RemoteClients.open(self.url, clients, {})
        await self.connected(clients)
        return remote

    async def publish(self, marker: str) -> None:
        text = json.dumps({"id": 1, "type": "message.created", "data": {"body": PAYLOAD_BODY, "marker": marker}})
        for ws in self.sockets:
            await ws.send_str(text)


class DeskFanout:
    """The desk's panel with one operator's N sockets, fed through the hub alone or the database."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.hub = panel.app[HUB]
        self.next_id = 0

    async def connect(self, clients: int) -> RemoteClients:
        panel = self.panel
        await make_operator(panel.desk.sessions, "bench@example.com")
        browser = panel.client()
        await login(panel, browser, "bench@example.com")
        jar = browser.cookie_jar.filter_cookies(URL(panel.url("/ws")))
        cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
        remote = await RemoteClients.open(panel.url("/ws"), clients, {"Origin": panel.origin, "Cookie": cookies},
                                          hello=True)
        await asyncio.sleep(0.3)  # every socket has said hello and is live in the hub
        assert len(self.hub.connections) == clients
        return remote

    async def reserve_id(self) -> None:
        """An id in the events' own range that no real event will ever have: this transaction's xid
        (migration 0029: id = xid << 20 + ordinal) in a transaction that publishes nothing, so it is
        above what the sockets had and below every later real event."""
        async with self.panel.desk.sessions() as db, db.begin():
            self.next_id = int(await db.scalar(text("SELECT pg_current_xact_id()::text::bigint << 20")))

    async def through_hub(self, marker: str) -> None:
        data = {"body": PAYLOAD_BODY, "marker": marker}
        await self.hub.on_events([Event(id=self.next_id, type="message.created", data=data, audience="staff")])

    async def through_database(self, marker: str) -> None:
        async with self.panel.desk.sessions() as db, db.begin():
            events.publish(db, "message.created", {"body": PAYLOAD_BODY, "marker": marker}, ticket_id=None)


async def fanout_rounds(url: str, clients: int, rounds: int, data_dir: Path) -> dict[str, list[Round]]:
    """The three probes interleaved round by round (in turns), so each meets the same machine load."""
    plain = PlainBroadcast()
    await plain.server.start_server()
    desk = DeskFanout(await start_panel(url, data_dir))
    freeze_startup_heap()  # as `desk run` does once started; the plain server's process is the same one
    plain_clients = await plain.connect(clients)
    desk_clients = await desk.connect(clients)
    probes = {
        "plain": (plain_clients, plain.publish, None),
        "hub": (desk_clients, desk.through_hub, desk.reserve_id),
        "db": (desk_clients, desk.through_database, None),
    }
    results: dict[str, list[Round]] = {name: [] for name in probes}
    for name, (remote, publish, prepare) in probes.items():
        await remote.time_round(f"{name}-warmup-", publish, prepare)
    names = list(probes)
    for n in range(rounds):
        for name in names[n % 3:] + names[:n % 3]:
            remote, publish, prepare = probes[name]
            results[name].append(await remote.time_round(f"{name}-{n}-", publish, prepare))
    await plain_clients.close()
    await desk_clients.close()
    await plain.server.close()
    await desk.panel.close()
    return results


def report(name: str, rounds: list[Round], what: str) -> tuple[float, float]:
    """Per-socket receipt times over all rounds (p50/p99), the time until ALL sockets had it, and
    how long publishing took (`what`)."""
    each = [delay for one in rounds for delay in one.delays]
    last = [max(one.delays) for one in rounds]
    publish = [one.publish for one in rounds]
    print(
        f"{name:<36} per socket p50 {pct(each, 0.5):6.1f} ms  p99 {pct(each, 0.99):6.1f} ms | "
        f"all have it p50 {pct(last, 0.5):6.1f} ms  p99 {pct(last, 0.99):6.1f} ms | "
        f"{what} p50 {pct(publish, 0.5):5.1f} ms  p99 {pct(publish, 0.99):5.1f} ms"
    )
    return pct(last, 0.5), pct(last, 0.99)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--e2e", action="store_true", help="also measure webhook update -> operator socket")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--customers", type=int, default=10, help="e2e: the updates come from this many customers")
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
        results = await fanout_rounds(url, args.clients, args.rounds, data_dir)
        base = report("plain aiohttp broadcast (baseline)", results["plain"], "write pass")
        hub = report("desk hub fan-out", results["hub"], "write pass")
        whole = report("desk commit->NOTIFY->stream->hub", results["db"], "commit")
        print(f"all-have-it vs plain, p50: hub {hub[0] / base[0]:.2f}x, whole pipeline {whole[0] / base[0]:.2f}x; "
              f"p99: hub {hub[1] / base[1]:.2f}x, whole pipeline {whole[1] / base[1]:.2f}x")
        if args.e2e:
            from bench.e2e_webhook import run_e2e

            await run_e2e(url, data_dir, rate=args.rate, seconds=args.seconds, customers=args.customers)
    finally:
        if not os.environ.get("KEEP_BENCH_DB"):
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
