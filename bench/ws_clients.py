"""The fan-out benchmark's browsers: N WebSocket clients in a process of their own.

The server under test should not pay for its clients: in production they are browsers on other
machines. In the server's process, 1,000 client sockets would double its heap (so every pause of
the garbage collector), and their reading would share its core. The same clients serve the plain
baseline and the desk, so the two are measured alike.

    python bench/ws_clients.py URL COUNT [--header "Name: value"]... [--hello]

Talks over stdin/stdout, one line each: prints `ready` once every socket is open (and, with
--hello, has its first frame); then for each `expect MARKER` it prints `armed`, and once every
socket has a text frame containing MARKER, a JSON list of `time.monotonic()` receipt stamps (the
same clock in every process on this machine). `quit` closes the sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time

import aiohttp


class Clients:
    def __init__(self, count: int) -> None:
        self.marker = ""
        self.stamps: list[float | None] = [None] * count
        self.waiting = 0
        self.done = asyncio.Event()

    def expect(self, marker: str) -> None:
        self.stamps = [None] * len(self.stamps)
        self.waiting = len(self.stamps)
        self.done.clear()
        self.marker = marker

    async def read(self, index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            if self.marker and self.stamps[index] is None and self.marker in message.data:
                self.stamps[index] = time.monotonic()
                self.waiting -= 1
                if self.waiting == 0:
                    self.done.set()
        if self.marker and self.stamps[index] is None:
            print(f"socket {index} closed: {ws.close_code}", file=sys.stderr, flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--hello", action="store_true", help="wait for each socket's first frame")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    for start in range(0, args.count, 100):
        batch = range(start, min(args.count, start + 100))
        sockets += await asyncio.gather(*(session.ws_connect(args.url, headers=headers) for _ in batch))
    if args.hello:
        await asyncio.gather(*(ws.receive() for ws in sockets))
    clients = Clients(len(sockets))
    readers = [asyncio.ensure_future(clients.read(n, ws)) for n, ws in enumerate(sockets)]
    gc.freeze()  # the clients' own heap is not the server's: keep its collections short
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    print("ready", flush=True)
    while line := (await stdin.readline()).decode().strip():
        command, _, marker = line.partition(" ")
        if command != "expect":
            break
        clients.expect(marker)
        print("armed", flush=True)
        await clients.done.wait()
        print(json.dumps(clients.stamps), flush=True)
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*readers, return_exceptions=True)
    await session.close()


if __name__ == "__main__":
    asyncio.run(main())
