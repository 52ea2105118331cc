"""What the fan-out benchmarks share: clients held by a process of their own and driven by lines (as
browsers would be, apart from the server's CPU), the bare aiohttp WebSocket server that is the raw
limit, and percentiles in milliseconds."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web
from aiohttp.test_utils import TestServer


def pct(values: list[float], q: float) -> float:
    """The q-quantile of `values` (seconds), in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


class LineProcess:
    """A Python process of our own taking commands on stdin and answering one line each on stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @staticmethod
    async def spawn(*args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24,
        )

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())

    async def line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"client process ended ({await self.process.wait()})")
        return line.decode().strip()

    async def expect(self, expected: str, timeout: float = 30) -> None:
        line = await self.line(timeout)
        if line != expected:
            raise RuntimeError(f"client process said {line!r}, not {expected!r}")

    async def close(self) -> None:
        self.send("quit")
        await asyncio.wait_for(self.process.wait(), 30)


class PlainSockets:
    """The raw limit: a bare aiohttp WebSocket server that holds its sockets; no permessage-deflate, as
    the desk's hubs (small JSON frames)."""

    def __init__(self) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        app = web.Application()
        app.router.add_get("/ws", self._handler)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/ws"

    async def _handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        self.sockets.append(ws)
        async for _ in ws:
            pass
        return ws

    async def connected(self, count: int) -> None:
        while len(self.sockets) < count:
            await asyncio.sleep(0.01)
