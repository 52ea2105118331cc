"""GET /ws[?after=K]: session-cookie auth, same-origin only, hello, then events.

With `after=K` the socket replays the events after K from the database, then goes live; without it,
it is live at once from the hello's `last_event_id` (no wait for a `resume`). A `resume {after}` frame
still replays exactly as long as the socket has sent no event yet; after that it is refused
(`resume_too_late`) rather than send events out of order. Each client frame is handled with a fresh
database session; the socket holds none."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from core.auth.permissions import principal_for, visible_ticket
from core.auth.sessions import session_by_token
from core.errors import DeskError
from core.events import Principal, event_dict, events_after
from core.models import Operator
from core.services import deliveries
from core.services import panel_presence as presence
from web.auth import COOKIE
from web.keys import DESK, HUB, PANEL
from web.security import foreign_origin
from web.ws.hub import LIVE, REPLAYING, Connection, encode

log = logging.getLogger(__name__)

REPLAY_LIMIT = 5000


async def websocket(request: web.Request) -> web.StreamResponse:
    desk, config, hub = request.app[DESK], request.app[PANEL], request.app[HUB]
    if foreign_origin(request):
        log.warning("websocket refused: foreign origin", extra={"origin": request.headers.get("Origin")})
        return web.json_response({"error": "origin"}, status=403)
    after = _after_param(request)
    if after == -1:
        return web.json_response({"error": "bad_after"}, status=400)
    who = await _signed_in(request)
    if who is None:
        return web.json_response({"error": "unauthorized"}, status=401)
    ws = web.WebSocketResponse(heartbeat=config.ws_heartbeat * 2, max_msg_size=64 * 1024, compress=False)
    await ws.prepare(request)
    connection_id = uuid.uuid4().hex
    await _presence(request, presence.connected, connection_id, who.operator_id, who.principal.role)
    connection = Connection(id=connection_id, ws=ws, principal=who.principal, operator_id=who.operator_id,
                            web_session_id=who.web_session_id,
                            last_sent=desk.stream.last_id if after is None else after,
                            state=LIVE if after is None else REPLAYING,
                            queue_limit=config.ws_queue_limit, transport=request.transport)
    hub.add(connection)  # no await between the snapshot of last_id and registration
    start = connection.last_sent
    connection.send_frame({"type": "hello", "last_event_id": start, "connection_id": connection.id})
    try:
        if after is not None:
            await _replay(request, connection)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await _on_frame(request, connection, message.data, start)
            elif message.type == WSMsgType.ERROR:
                break
    finally:
        hub.remove(connection)
        connection.close_soon()
        await hub.shielded(_gone(request, connection))
    return ws


@dataclass(frozen=True)
class SignedIn:
    """Who holds the socket: plain values, so an open socket keeps no ORM objects alive."""

    operator_id: int
    web_session_id: int
    principal: Principal


async def _signed_in(request: web.Request) -> SignedIn | None:
    config = request.app[PANEL]
    async with request.app[DESK].sessions() as db:
        found = await session_by_token(db, request.cookies.get(COOKIE, ""), now=config.clock(), policy=config.sessions)
        if found is None:
            return None
        operator, web_session = found
        principal = await principal_for(db, operator)
        await db.commit()
        return SignedIn(operator.id, web_session.id, principal)


async def _gone(request: web.Request, connection: Connection) -> None:
    """The socket's last words; shielded, as a server may cancel the handler of a lost connection."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.finished(), 2.0)
    await _presence(request, presence.disconnected, connection.id)


def _after_param(request: web.Request) -> int | None:
    """The `after` query parameter: None when absent, -1 when not a non-negative integer."""
    raw = request.query.get("after")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return -1
    return int(raw)


async def _presence(request: web.Request, action: Any, *args: Any) -> None:
    try:
        async with request.app[DESK].sessions() as db:
            await action(db, *args)
            await db.commit()
    except Exception:
        log.exception("presence update failed")


async def _on_frame(request: web.Request, connection: Connection, raw: str, start: int) -> None:
    try:
        frame = json.loads(raw)
        kind = frame.get("type") if isinstance(frame, dict) else None
    except (json.JSONDecodeError, AttributeError):
        kind = None
    if kind == "resume":
        await _resume(request, connection, frame.get("after"), start)
    elif kind in ("view", "typing"):
        await _ticket_frame(request, connection, kind, frame.get("ticket_id"))
    elif kind == "ping":
        connection.send_frame({"type": "pong"})
    else:
        connection.send_frame({"type": "error", "error": "bad_frame"})


async def _resume(request: web.Request, connection: Connection, after: Any, start: int) -> None:
    """Replay after `after`, if the socket has sent no event since its hello (else the replay would
    come after newer live frames); only once."""
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        connection.send_frame({"type": "error", "error": "bad_resume"})
        return
    if connection.state != LIVE or connection.last_sent != start or connection.resumed:
        connection.send_frame({"type": "error", "error": "resume_too_late"})
        return
    connection.resumed = True
    connection.state = REPLAYING
    connection.last_sent = after
    await _replay(request, connection)


async def _replay(request: web.Request, connection: Connection) -> None:
    """Events after `connection.last_sent` from the database while live ones wait in `pending`, then live."""
    sent = 0
    while True:
        async with request.app[DESK].sessions() as db:
            batch = list(await events_after(db, connection.last_sent, connection.principal, limit=500))
        if not batch:
            break
        sent += len(batch)
        if sent > REPLAY_LIMIT:  # too far behind: the client reloads its data instead
            connection.last_sent = max(connection.last_sent, request.app[DESK].stream.last_id)
            connection.send_frame({"type": "reset", "last_event_id": connection.last_sent})
            break
        for event in batch:
            connection.push(event.id, encode(event_dict(event)))
    connection.go_live()
    assert connection.state == LIVE


async def _ticket_frame(request: web.Request, connection: Connection, kind: str, ticket_id: Any) -> None:
    valid_id = isinstance(ticket_id, int) and not isinstance(ticket_id, bool) and ticket_id > 0
    if kind == "view" and ticket_id is None:
        await _presence(request, presence.viewing, connection.id, None)
        return
    if not valid_id:
        connection.send_frame({"type": "error", "error": "bad_ticket"})
        return
    async with request.app[DESK].sessions() as db:
        operator = await db.get(Operator, connection.operator_id)
        try:
            if operator is None or not operator.is_active:
                raise DeskError("gone")
            ticket = await visible_ticket(db, operator, ticket_id)
            if kind == "view":
                await presence.viewing(db, connection.id, ticket.id)
            else:
                await deliveries.operator_typing(db, ticket)
            await db.commit()
        except DeskError:
            connection.send_frame({"type": "error", "error": "not_found", "ticket_id": ticket_id})
