"""Fans events out to this process's sockets, each filtered by what its principal may see.

An event is serialized and encoded once. A socket that is idle (nothing waiting, nothing left in
its transport's buffer) is written in the fan-out pass itself, like a plain broadcast loop; a busy
one gets a bounded backlog and a drain task of its own, only while it has one. So a slow browser
never holds up the others, an idle socket costs no task, and one that falls too far behind is
closed (the client reconnects and resumes from the database). Ids only grow on a socket: while it
replays (resume after K) live events are held back and flushed afterwards, skipping what the
replay already sent."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from core.event_reader import EventRecord
from core.events import Principal, dumps, event_dict, may_see
from core.models import Event
from core.services.accounts import SIGNED_OUT

log = logging.getLogger(__name__)

WAITING, REPLAYING, LIVE = "waiting", "replaying", "live"
DIRECT_MAX = 16 * 1024  # far below the transport's high-water mark: a direct write never waits
CLOSE_TIMEOUT = 5.0


def encode(frame: dict[str, Any]) -> bytes:
    return dumps(frame).encode()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event serialized once for every socket."""

    id: int
    audience: str
    store_id: int | None
    frame: bytes


@dataclass(eq=False)
class Connection:
    id: str
    ws: web.WebSocketResponse
    principal: Principal
    operator_id: int
    web_session_id: int | None
    last_sent: int
    queue_limit: int
    transport: asyncio.WriteTransport | None = None
    state: str = WAITING
    resumed: bool = False  # a `resume` frame was honoured (only one is)
    ticket_id: int | None = None
    pending: list[Outgoing] = field(default_factory=list)
    backlog: deque[bytes | None] = field(default_factory=deque)  # None: close once written up to here
    drainer: asyncio.Task[None] | None = None
    closing: bool = False

    def idle(self, size: int) -> bool:
        """Nothing queued or buffered: a frame of `size` bytes written now goes straight out."""
        return (self.drainer is None and not self.closing and size <= DIRECT_MAX
                and self.transport is not None and self.transport.get_write_buffer_size() == 0)

    async def send(self, frame: bytes) -> None:
        """Write now when idle (this never waits), else queue behind what is waiting."""
        if self.idle(len(frame)):
            await self.write_now(frame)
        else:
            self.enqueue(frame)

    async def write_now(self, frame: bytes) -> None:
        try:
            await self.ws.send_frame(frame, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            self.close_soon()

    def accept(self, item: Outgoing) -> bool:
        """Whether to send `item` now; a socket still replaying holds it back for `go_live`."""
        if not may_see(self.principal, item.audience, item.store_id):
            return False
        if self.state != LIVE:
            self.pending.append(item)
            return False
        if item.id <= self.last_sent or self.closing:
            return False
        self.last_sent = item.id
        return True

    def push(self, event_id: int, frame: bytes) -> None:
        """Queue an event (replay, or the flush after it); ids only grow on a socket."""
        if not self.closing:
            self.last_sent = event_id
            self.enqueue(frame)

    def send_frame(self, frame: dict[str, Any]) -> None:
        self.enqueue(encode(frame))

    def enqueue(self, frame: bytes) -> None:
        if self.closing:
            return
        if len(self.backlog) >= self.queue_limit:
            log.warning("websocket too far behind; dropping it", extra={"connection_id": self.id})
            self.drop()
            return
        self._queue(frame)

    def _queue(self, frame: bytes | None) -> None:
        self.backlog.append(frame)
        if self.drainer is None:
            self.drainer = asyncio.ensure_future(self._drain())

    def go_live(self) -> None:
        """End of replay (or no resume asked): flush what arrived meanwhile, in id order, once."""
        self.state = LIVE
        held, self.pending = self.pending, []
        for item in held:
            if item.id > self.last_sent:
                self.push(item.id, item.frame)

    def drop(self) -> None:
        """Cut the connection now, queue and all: a browser that reads nothing cannot take a close
        frame either. Its client reconnects and resumes from the database after what it last read."""
        self.closing = True
        self.backlog.clear()
        if self.transport is not None:
            self.transport.abort()

    def close_soon(self) -> None:
        """Close after the frames already queued (the client then reconnects and resumes)."""
        if not self.closing:
            self.closing = True
            self._queue(None)

    async def finished(self) -> None:
        """Wait until the queued frames are written (or the socket is gone)."""
        if self.drainer is not None:
            await asyncio.shield(self.drainer)

    async def _drain(self) -> None:
        try:
            while self.backlog:
                frame = self.backlog.popleft()
                if frame is None:
                    self.backlog.clear()
                    await self._close()
                    return
                await self.ws.send_frame(frame, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            self.closing = True
            self.backlog.clear()
        finally:
            self.drainer = None  # no await since the backlog was found empty: nothing is stranded

    async def _close(self) -> None:
        try:
            await asyncio.wait_for(self.ws.close(code=4000, message=b"closed by server"), CLOSE_TIMEOUT)
        except Exception:
            self.drop()


@dataclass
class Hub:
    queue_limit: int = 10_000
    metrics: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    sent_events: int = 0
    _cleanups: set[asyncio.Future[None]] = field(default_factory=set)

    async def shielded(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` to its end even if the caller is cancelled (kept referenced until then)."""
        task = asyncio.ensure_future(work)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        await asyncio.shield(task)

    async def settle(self, timeout: float = 5.0) -> None:
        """At shutdown: let the sockets' last words finish before the database goes away."""
        if self._cleanups:
            await asyncio.wait(list(self._cleanups), timeout=timeout)

    async def on_events(self, batch: Sequence[Event | EventRecord]) -> None:
        """Subscriber of the event stream; never waits on a socket (it runs on the stream's reader)."""
        items = [Outgoing(e.id, e.audience, e.store_id, encode(event_dict(e))) for e in batch]
        for e in batch:  # an account disabled or reset in any process (the panel's or `desk operator`)
            if e.type == SIGNED_OUT and isinstance(e.data.get("operator_id"), int):
                self.close_operator(e.data["operator_id"])
        for connection in list(self.connections.values()):
            for item in items:
                if not connection.accept(item):
                    continue
                if connection.idle(len(item.frame)):  # the common case, inlined: one loop like a broadcast
                    await connection.write_now(item.frame)
                else:
                    connection.enqueue(item.frame)
        self.sent_events += len(items)

    def add(self, connection: Connection) -> None:
        self.connections[connection.id] = connection
        self.metrics["websockets_open"] = len(self.connections)

    def remove(self, connection: Connection) -> None:
        self.connections.pop(connection.id, None)
        self.metrics["websockets_open"] = len(self.connections)

    def close_operator(self, operator_id: int) -> None:
        for connection in list(self.connections.values()):
            if connection.operator_id == operator_id:
                connection.close_soon()

    def close_sessions(self, session_ids: set[int]) -> None:
        for connection in list(self.connections.values()):
            if connection.web_session_id in session_ids:
                connection.close_soon()

    async def broadcast_frame(self, frame: dict[str, Any]) -> None:
        encoded = encode(frame)
        for connection in list(self.connections.values()):
            await connection.send(encoded)

    def sockets_by_role(self) -> dict[str, int]:
        counts = Counter(c.principal.role for c in self.connections.values())
        return {role: counts.get(role, 0) for role in ("admin", "operator", "partner")}
