"""Fans events out to this process's sockets, each filtered by what its principal may see.

Every socket has its own send queue and sender task, so one slow browser never holds up the
others. Ids only grow on a socket: while it replays (resume after K) live events are held back
and flushed afterwards, skipping what the replay already sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.events import Principal, dumps, event_dict, may_see
from core.models import Event

log = logging.getLogger(__name__)

WAITING, REPLAYING, LIVE = "waiting", "replaying", "live"


@dataclass(frozen=True)
class Outgoing:
    """An event serialized once for every socket."""

    id: int
    audience: str
    store_id: int | None
    text: str


@dataclass(eq=False)
class Connection:
    id: str
    ws: web.WebSocketResponse
    principal: Principal
    operator_id: int
    web_session_id: int | None
    last_sent: int
    queue_limit: int
    state: str = WAITING
    pending: list[Outgoing] = field(default_factory=list)
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    ticket_id: int | None = None
    transport: asyncio.BaseTransport | None = None
    direct: list[str] = field(default_factory=list)

    def writable_now(self) -> bool:
        """Idle and flushed: a frame written now goes straight to the socket without waiting."""
        transport = self.transport
        return (self.queue.empty() and not self.ws.closed and isinstance(transport, asyncio.WriteTransport)
                and transport.get_write_buffer_size() == 0)

    def offer(self, item: Outgoing) -> None:
        if not may_see(self.principal, item.audience, item.store_id):
            return
        if self.state != LIVE:
            self.pending.append(item)
        elif item.id > self.last_sent:
            self.push(item.id, item.text, allow_direct=True)

    async def write_direct(self) -> None:
        frames, self.direct = self.direct, []
        try:
            for text in frames:
                await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            self.close_soon()

    def push(self, event_id: int, text: str, *, allow_direct: bool = False) -> None:
        if allow_direct and not self.direct and self.writable_now():
            self.last_sent = event_id
            self.direct.append(text)  # written by the hub in this same pass, no task hop
            return
        if self.direct:  # keep order behind frames the hub is about to write
            self.direct.append(text)
            self.last_sent = event_id
            return
        if self.queue.qsize() >= self.queue_limit:
            self.close_soon()  # too far behind: the client reconnects and resumes from the database
            return
        self.last_sent = event_id
        self.queue.put_nowait(text)

    def send_frame(self, frame: dict[str, Any]) -> None:
        self.queue.put_nowait(dumps(frame))

    def go_live(self) -> None:
        """End of replay (or no resume asked): flush what arrived meanwhile, in id order, once."""
        self.state = LIVE
        held, self.pending = self.pending, []
        for item in held:
            if item.id > self.last_sent:
                self.push(item.id, item.text)

    def close_soon(self) -> None:
        self.queue.put_nowait(None)

    async def run_sender(self) -> None:
        while (text := await self.queue.get()) is not None:
            if self.ws.closed:
                return
            await self.ws.send_str(text)
        with contextlib.suppress(Exception):
            await self.ws.close(code=4000, message=b"closed by server")


@dataclass
class Hub:
    queue_limit: int = 10_000
    metrics: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    sent_events: int = 0

    async def on_events(self, batch: Sequence[Event]) -> None:
        """Subscriber of the event stream; must not block, it runs on the stream's reader."""
        items = [Outgoing(e.id, e.audience, e.store_id, dumps(event_dict(e))) for e in batch]
        connections = list(self.connections.values())
        for connection in connections:
            for item in items:
                connection.offer(item)
        # Idle sockets are written in this pass, like a plain broadcast; busy ones drain through
        # their own sender task, so a slow browser never holds up the rest.
        for connection in connections:
            if connection.direct:
                await connection.write_direct()
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

    def broadcast_frame(self, frame: dict[str, Any]) -> None:
        text = dumps(frame)
        for connection in list(self.connections.values()):
            connection.queue.put_nowait(text)

    def sockets_by_role(self) -> dict[str, int]:
        counts = Counter(c.principal.role for c in self.connections.values())
        return {role: counts.get(role, 0) for role in ("admin", "operator", "partner")}
