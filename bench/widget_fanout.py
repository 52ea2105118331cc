"""Website chat widget: N visitor sockets, M live tickets, operator replies timed to the visitor's socket.

The visitors live in a process of their own (this file with --browsers), as browsers would: each
opens `/widget/ws` with the store widget's key and an allowed Origin, is issued a token, reads the
desk's hello and sends the widget's own hello frame, as widget.js does. The first M of them hand off
through the widget's own frames (start, "Talk to a human", a topic, a first message), so they have a
live web ticket. Operators then reply to those M tickets through the real path: core's
`operator_replied` in a transaction (what the panel API does), then the outbox worker delivers it
through the web adapter (`widget.push` event), NOTIFY, the event stream, the visitor hub and the
socket's history read. Figures from the same run, their rounds interleaved:
  widget reply     - per reply, from the reply's commit until the visitor's socket has the message frame;
  plain send       - the raw limit of one message to one socket: a bare aiohttp server's `send_str` to M
                     of its sockets, paced like the replies;
  plain broadcast  - the same server sends one message to all N sockets (the raw fan-out);
  memory           - the server process's RSS before and after each side's N sockets connected (after a
                     full collection and malloc_trim), divided by N.

    python bench/widget_fanout.py [--visitors 1000] [--tickets 100] [--rounds 10] [--rate 50]
Uses TEST_DATABASE_URL when set, otherwise starts an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.remote import LineProcess, PlainSockets, pct

SHOP = "https://shop.example"
FILLER = "We have checked your order and it leaves the warehouse today; the courier will call before coming. "
OPERATORS = 10


def rss_bytes() -> int:
    """This process's resident set after a full collection and giving freed heap back to the system."""
    gc.collect()
    with contextlib.suppress(OSError):  # not glibc: the figure then includes freed memory the allocator keeps
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- the browsers (a process of their own) ------------------------------------------------------------

async def until(ws: aiohttp.ClientWebSocketResponse, predicate: Any, timeout: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads((await ws.receive()).data)
            if predicate(frame):
                return dict(frame)


def button(frame: dict[str, Any], label: str) -> list[Any] | None:
    found = [b["action"] for row in frame.get("buttons") or () for b in row if label in b["label"]]
    return found[0] if found else None


async def hand_off(ws: aiohttp.ClientWebSocketResponse, n: int) -> int:
    """What a visitor does in widget.js: open the chat, ask for a human, pick a topic, write. The ticket id."""
    await ws.send_json({"type": "start", "client_id": f"s{n}"})
    human = button(await until(ws, lambda f: button(f, "Talk to a human") is not None), "Talk to a human")
    await ws.send_json({"type": "action", "client_id": f"h{n}", "action": human})
    topic = button(await until(ws, lambda f: button(f, "Technical support") is not None), "Technical support")
    await ws.send_json({"type": "action", "client_id": f"t{n}", "action": topic})
    close = button(await until(ws, lambda f: button(f, "Close the ticket") is not None), "Close the ticket")
    assert close is not None
    await ws.send_json({"type": "message", "client_id": f"m{n}", "text": f"Where is my order {1000 + n}?"})
    await until(ws, lambda f: f.get("type") == "ack" and f.get("client_id") == f"m{n}")
    return int(close[1])


async def browsers(url: str, count: int, origin: str, tickets: int, widget: bool) -> None:
    """Talks over stdin/stdout, one line each: `connected` once every socket is open (and, for the
    widget, has the desk's hello and sent its own); after any line from the server, the first `tickets`
    visitors hand off and it prints a JSON list of their ticket ids; then for each `expect PREFIX COUNT`
    it prints `armed`, and once COUNT frames containing PREFIX<n> arrived, a JSON list of [n, stamp]
    (`time.monotonic()`, the same clock in every process on this machine). `quit` closes the sockets."""
    headers = {"Origin": origin} if origin else {}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    for start in range(0, count, 100):
        batch = range(start, min(count, start + 100))
        sockets += await asyncio.gather(*(session.ws_connect(url, headers=headers) for _ in batch))
    if widget:
        hellos = await asyncio.gather(*(ws.receive_json() for ws in sockets))
        assert all(h["type"] == "hello" for h in hellos)
        visit = {"url": f"{SHOP}/catalog/shoes", "title": "Shoes — Corner shop", "referrer": "https://www.google.com/",
                 "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                 "language": "en-GB", "time_zone": "Europe/London", "local_time": "2026-12-07T01:30:00+00:00"}
        await asyncio.gather(*(ws.send_json({"type": "hello", "visit": visit}) for ws in sockets))
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    print("connected", flush=True)
    await stdin.readline()  # `hand off`: the server has measured itself with every socket open
    limit = asyncio.Semaphore(20)

    async def one(n: int) -> int:
        async with limit:
            return await hand_off(sockets[n], n)

    ticket_ids = await asyncio.gather(*(one(n) for n in range(tickets)))
    prefix, wanted, stamps = "", 0, []
    done = asyncio.Event()
    pattern = re.compile("")

    async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
        nonlocal prefix
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            if prefix and prefix in message.data:
                now = time.monotonic()
                for found in pattern.finditer(message.data):
                    stamps.append([int(found.group(1)), now])
                if len(stamps) >= wanted:
                    prefix = ""
                    done.set()

    readers = [asyncio.ensure_future(read(ws)) for ws in sockets]
    gc.freeze()  # the browsers' heap is not the server's: keep their collections short
    print(json.dumps(ticket_ids), flush=True)
    while line := (await stdin.readline()).decode().strip():
        command, *args = line.split()
        if command != "expect":
            break
        stamps, wanted, done = [], int(args[1]), asyncio.Event()
        pattern = re.compile(re.escape(args[0]) + r"(\d+)\.")
        prefix = args[0]
        print("armed", flush=True)
        await done.wait()
        print(json.dumps(stamps), flush=True)
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*readers, return_exceptions=True)
    await session.close()


class RemoteBrowsers(LineProcess):
    """The visitors, in this file run with --browsers: a process of their own."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__(process)
        self.tickets: list[int] = []

    @classmethod
    async def open(cls, url: str, count: int, origin: str = "", tickets: int = 0,
                   widget: bool = False) -> RemoteBrowsers:
        remote = cls(await cls.spawn(__file__, "--browsers", url, "--visitors", str(count), "--origin", origin,
                                     "--tickets", str(tickets), *(["--widget"] if widget else [])))
        await remote.expect("connected", timeout=300)
        return remote

    async def hand_off(self) -> None:
        """The visitors' handoffs; their ticket ids."""
        self.send("hand off")
        self.tickets = json.loads(await self.line(300))

    async def arm(self, prefix: str, count: int) -> None:
        self.send(f"expect {prefix} {count}")
        await self.expect("armed")

    async def stamps(self) -> list[tuple[int, float]]:
        return [(int(n), float(t)) for n, t in json.loads(await self.line(120))]


# -- the servers ----------------------------------------------------------------------------------------

class PlainServer(PlainSockets):
    """The raw limit: a bare aiohttp WebSocket server holding the sockets and writing with `send_str`."""

    async def connect(self, count: int) -> RemoteBrowsers:
        remote = await RemoteBrowsers.open(self.url, count)
        await remote.hand_off()  # none: only the list
        await self.connected(count)
        return remote

    def frame(self, marker: str, n: int) -> str:
        return json.dumps({"type": "message", "id": n, "author": "operator", "body": f"{FILLER}{marker}{n}."})


class WidgetDesk:
    """The desk's web app with the widget on, an outbox worker, a store widget and operators."""

    def __init__(self, panel: Any, worker: Any, key: str, operators: list[int]) -> None:
        self.panel, self.worker, self.key, self.operators = panel, worker, key, operators
        self.pushed: dict[int, float] = {}  # message id -> when the stream handed its widget.push to the hub
        panel.desk.stream.subscribe(self._seen)  # after the visitor hub's own subscription

    async def _seen(self, batch: Any) -> None:
        now = time.monotonic()
        for event in batch:
            if event.type == "widget.push" and event.data.get("message_id") is not None:
                self.pushed[int(event.data["message_id"])] = now

    @classmethod
    async def start(cls, url: str, data_dir: Path) -> WidgetDesk:
        from core.orders import stores
        from core.services.widgets import configure_widget
        from desk import create_outbox_worker
        from tests.web.harness import make_operator, start_panel

        panel = await start_panel(url, data_dir, settings_overrides={"widget_enabled": True})
        worker = panel.desk.outbox = create_outbox_worker(panel.desk, panel.desk.channels.deliverers())
        panel.tasks.append(asyncio.ensure_future(worker.run()))
        async with panel.desk.sessions() as session, session.begin():
            store = await stores.create_store(session, name="Corner shop")
            key = (await configure_widget(session, store.id, [SHOP])).key
        operators = [await make_operator(panel.desk.sessions, f"op{n}@example.com") for n in range(OPERATORS)]
        return cls(panel, worker, key, operators)

    async def connect(self, count: int, tickets: int) -> RemoteBrowsers:
        url = self.panel.url(f"/widget/ws?key={self.key}&lang=en")
        return await RemoteBrowsers.open(url, count, SHOP, tickets, widget=True)

    async def reply(self, ticket_id: int, operator_id: int, body: str) -> tuple[float, float, int]:
        """What the panel's reply handler does; (commit started, commit returned, the message's id)."""
        from core.models import Operator
        from core.services.conversations import operator_replied

        async with self.panel.desk.sessions() as db:
            operator = await db.get(Operator, operator_id)
            assert operator is not None
            message = await operator_replied(db, ticket_id=ticket_id, operator=operator, body=body)
            started = time.monotonic()
            await db.commit()
            return started, time.monotonic(), message.id

    async def close(self) -> None:
        self.worker.stop()
        await self.panel.close()
        await self.worker.close()


# -- the probes -----------------------------------------------------------------------------------------

async def paced(count: int, rate: float, one: Any) -> list[Any]:
    """`one(n)` for n in range(count), started at `rate` per second (all at once when rate <= 0)."""
    began, tasks = time.monotonic(), []
    for n in range(count):
        if rate > 0:
            await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
        tasks.append(asyncio.ensure_future(one(n)))
    return list(await asyncio.gather(*tasks))


async def widget_round(desk: WidgetDesk, remote: RemoteBrowsers, marker: str, rate: float) -> dict[str, list[float]]:
    """Each live ticket gets one reply; per reply: commit returned -> its visitor's socket read it, split
    at the moment the event stream handed the delivery's widget.push to the hub; and the commit itself."""
    await remote.arm(marker, len(remote.tickets))

    async def one(n: int) -> tuple[float, float, int]:
        operator = desk.operators[n % len(desk.operators)]
        return await desk.reply(remote.tickets[n], operator, f"{FILLER}{marker}{n}.")

    commits = await paced(len(remote.tickets), rate, one)
    stamps = await remote.stamps()
    pushed = [desk.pushed[commits[n][2]] for n, _ in stamps]
    return {"widget": [stamp - commits[n][1] for n, stamp in stamps],
            "to_hub": [at - commits[n][1] for (n, _), at in zip(stamps, pushed, strict=True)],
            "to_socket": [stamp - at for (_, stamp), at in zip(stamps, pushed, strict=True)],
            "commit": [end - start for start, end, _ in commits]}


async def plain_send_round(plain: PlainServer, remote: RemoteBrowsers, marker: str, count: int,
                           rate: float) -> list[float]:
    await remote.arm(marker, count)

    async def one(n: int) -> float:
        sent = time.monotonic()
        await plain.sockets[n].send_str(plain.frame(marker, n))
        return sent

    sent = await paced(count, rate, one)
    return [stamp - sent[n] for n, stamp in await remote.stamps()]


async def plain_broadcast_round(plain: PlainServer, remote: RemoteBrowsers, marker: str) -> tuple[list[float], float]:
    await remote.arm(marker, len(plain.sockets))
    started = time.monotonic()
    text = plain.frame(marker, 0)
    for ws in plain.sockets:
        await ws.send_str(text)
    delays = [stamp - started for _, stamp in await remote.stamps()]
    return delays, max(delays)


def line(name: str, delays: list[float], extra: str = "") -> None:
    print(f"| {name} | {len(delays)} | {pct(delays, 0.5):.1f} | {pct(delays, 0.99):.1f} | "
          f"{max(delays) * 1000:.1f} |{extra}")


async def run(url: str, visitors: int, tickets: int, rounds: int, rate: float) -> None:
    from core.heap import freeze_startup_heap

    data_dir = Path(tempfile.mkdtemp(prefix="desk-bench-"))
    plain = PlainServer()
    await plain.server.start_server()
    desk = await WidgetDesk.start(url, data_dir)
    freeze_startup_heap()  # as `desk run` does once started
    before = rss_bytes()
    plain_remote = await plain.connect(visitors)
    plain_memory = (rss_bytes() - before) / visitors
    before = rss_bytes()
    desk_remote = await desk.connect(visitors, tickets)
    await asyncio.sleep(0.5)  # the visitors' hello frames handled
    connected = rss_bytes()
    desk_memory = (connected - before) / visitors
    handoff = time.monotonic()
    await desk_remote.hand_off()
    handoff = time.monotonic() - handoff
    print(f"{visitors} visitor sockets ({tickets} with a live ticket, handed off in {handoff:.1f} s), {rounds} rounds, "
          f"replies at {rate:g}/s, reply ~{len(FILLER) + 12} chars; load average {os.getloadavg()[0]:.2f} at start")
    results: dict[str, list[float]] = {name: [] for name in ("widget", "to_hub", "to_socket", "commit", "send",
                                                                 "broadcast", "all", "cpu")}
    await widget_round(desk, desk_remote, "warmup", rate)
    await plain_send_round(plain, plain_remote, "warmup", tickets, rate)
    for n in range(rounds):
        probes = ["widget", "send", "broadcast"]
        for probe in probes[n % 3:] + probes[:n % 3]:
            marker = f"r{n}{probe}"
            if probe == "widget":
                cpu = time.process_time()
                for name, values in (await widget_round(desk, desk_remote, marker, rate)).items():
                    results[name] += values
                results["cpu"].append(time.process_time() - cpu)
            elif probe == "send":
                results["send"] += await plain_send_round(plain, plain_remote, marker, tickets, rate)
            else:
                delays, last = await plain_broadcast_round(plain, plain_remote, marker)
                results["broadcast"] += delays
                results["all"].append(last)
    after = rss_bytes()
    print(f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    print("\n| figure | samples | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- |")
    line("plain aiohttp: one message to one socket, paced (raw limit of a reply)", results["send"])
    line(f"plain aiohttp: broadcast to all {visitors}, per socket", results["broadcast"])
    line(f"plain aiohttp: broadcast, until all {visitors} have it", results["all"])
    line("**widget: reply committed → visitor's socket has it**", results["widget"])
    line("of which commit → the stream hands the delivery's widget.push to the hub", results["to_hub"])
    line("of which hub woken → the socket's history read and sent → the visitor has it", results["to_socket"])
    line("(the reply's commit itself, before the above)", results["commit"])
    ratio = pct(results["widget"], 0.5) / pct(results["send"], 0.5)
    ratio99 = pct(results["widget"], 0.99) / pct(results["send"], 0.99)
    cpu = sum(results["cpu"]) / len(results["widget"]) * 1000
    print(f"\nwidget reply vs plain send: p50 {ratio:.1f}x, p99 {ratio99:.1f}x; the desk process's CPU per reply "
          f"(reply, delivery, push; PostgreSQL not counted): {cpu:.1f} ms")
    print("\n| server memory (RSS) | per socket |\n| --- | --- |")
    print(f"| plain aiohttp, {visitors} sockets | {plain_memory / 1024:.1f} KiB |")
    print(f"| desk widget, {visitors} visitor sockets (hello sent, no ticket yet) | {desk_memory / 1024:.1f} KiB "
          f"({desk_memory / plain_memory:.1f}x) |")
    print(f"| desk, growth from connected to after the {tickets} handoffs and {(rounds + 1) * tickets} replies "
          f"| {(after - connected) / 1024 / 1024:.1f} MiB in all |")
    await plain_remote.close()
    await desk_remote.close()
    await plain.server.close()
    await desk.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--tickets", type=int, default=100, help="visitors who hand off and get replies")
    parser.add_argument("--rounds", type=int, default=10, help="each live ticket gets one reply per round")
    parser.add_argument("--rate", type=float, default=50.0, help="replies per second (0: all at once)")
    parser.add_argument("--browsers", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--origin", default="", help=argparse.SUPPRESS)
    parser.add_argument("--widget", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.browsers:
        asyncio.run(browsers(args.browsers, args.visitors, args.origin, args.tickets, args.widget))
        return
    from core.migrate import upgrade
    from tests.pg import PostgresForTests

    async def prepare(pg: PostgresForTests) -> str:
        url = pg.url_for(await pg.create_database())
        await upgrade(url)
        return url

    pg = PostgresForTests()
    pg.start()
    try:
        url = asyncio.run(prepare(pg))
        asyncio.run(run(url, args.visitors, args.tickets, args.rounds, args.rate))
    finally:
        if not os.environ.get("KEEP_BENCH_DB"):
            pg.stop()


if __name__ == "__main__":
    main()
