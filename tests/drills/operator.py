"""The operator's side of a drill: a signed-in API client that retries 503 after Retry-After, and a /ws
reader that reconnects and resumes from the last event id it saw, as the panel does."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.drills.process import ADMIN_EMAIL, ADMIN_PASSWORD, DeskProcess


@dataclass
class Reply:
    body: str
    status: int
    answered_at: float
    attempts: int


class Operator:
    def __init__(self, desk: DeskProcess) -> None:
        self.desk = desk
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.refusals: list[tuple[str, int, str]] = []  # (body, status, text): 503s the client waited out

    async def login(self) -> None:
        async with self.http.post(self.desk.url("/api/auth/login"),
                                  json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}) as response:
            assert response.status == 200, await response.text()
            self.csrf = (await response.json())["csrf_token"]

    async def reply(self, ticket_id: int, body: str, *, give_up_after: float = 90.0) -> Reply:
        """POST the reply; a 503 (database away) is retried after Retry-After with the same client key,
        so a retry can never post it twice. Any other answer is final."""
        key = secrets.token_hex(12)
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            try:
                async with self.http.post(self.desk.url(f"/api/tickets/{ticket_id}/messages"),
                                          json={"body": body, "client_key": key},
                                          headers={"X-CSRF-Token": self.csrf},
                                          timeout=aiohttp.ClientTimeout(total=30)) as response:
                    text = await response.text()
                    if response.status != 503 or time.monotonic() - started > give_up_after:
                        return Reply(body, response.status, time.monotonic(), attempts)
                    wait = float(response.headers.get("Retry-After", "1"))
                    self.refusals.append((body, response.status, f"Retry-After {wait:g}: {text[:200]}"))
            except (aiohttp.ClientError, TimeoutError) as error:
                self.refusals.append((body, 0, repr(error)))
                wait = 1.0
            await asyncio.sleep(min(wait, 5.0))

    async def close(self) -> None:
        await self.http.close()


@dataclass
class Socket:
    """Reads /ws for the whole drill; every frame with an id is kept, in arrival order."""

    desk: DeskProcess
    http: aiohttp.ClientSession
    frames: list[dict[str, Any]] = field(default_factory=list)
    connects: list[float] = field(default_factory=list)
    drops: list[float] = field(default_factory=list)
    hello_ids: list[int] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _live: asyncio.Event = field(default_factory=asyncio.Event)
    _ws: aiohttp.ClientWebSocketResponse | None = None

    @property
    def last_id(self) -> int | None:
        ids = [f["id"] for f in self.frames if "id" in f]
        return max(ids) if ids else None

    async def open(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._live.wait(), 30)

    async def _run(self) -> None:
        while True:
            try:
                # As the panel does: a reconnect asks for what it missed in the URL; the first socket is
                # live from its hello at once.
                path = "/ws" if self.last_id is None else f"/ws?after={self.last_id}"
                async with self.http.ws_connect(self.desk.url(path), headers={"Origin": self.desk.origin},
                                                heartbeat=5.0) as ws:
                    self._ws = ws
                    hello = await ws.receive_json(timeout=10)
                    assert hello["type"] == "hello", hello
                    self.hello_ids.append(hello["last_event_id"])
                    self.connects.append(time.monotonic())
                    self._live.set()
                    async for message in ws:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            self.frames.append(message.json())
                        elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                            break
            except (aiohttp.ClientError, TimeoutError, ValueError, AssertionError):
                pass
            self.drops.append(time.monotonic())
            await asyncio.sleep(0.3)

    async def drop(self) -> None:
        """Close the socket as a browser losing its network would; the reader reconnects and resumes."""
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()

    def created(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "message.created"]

    def bodies(self) -> list[str]:
        return [f["data"]["body"] for f in self.created()]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
