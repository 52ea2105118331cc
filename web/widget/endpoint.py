"""The widget's endpoints: `/widget.js`, the visitor's socket `/widget/ws`, its HTTP fallback
(`POST /widget/send` + the Server-Sent Events stream `GET /widget/events`), file upload and download.

Every request names the store's widget by its public key; the browser's Origin must be one of the
widget's sites (403) and the visitor's token must be signed for that store (401). A visitor's frame
is acknowledged only after its transaction committed, and each carries a client id: a frame sent
again (the widget resends what was not acknowledged after a reconnect) finds its receipt and gets the
same answers back, so nothing is lost and nothing is stored or answered twice.

The socket and the HTTP fallback are two transports of one protocol: a frame from either goes through
`Widget.take_frame`, and what the desk pushes goes through `Widget._push` onto a `Socket` whose outlet
is the WebSocket or the event stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from aiohttp import BodyPartReader, WSMsgType, web
from aiohttp.client_exceptions import ClientConnectionResetError
from pydantic import ValidationError
from sqlalchemy import cast as sql_cast
from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from core import events as event_bus
from core.channels import ChannelSpec
from core.context import Desk
from core.db import database_unavailable
from core.dialogue import Action, Dialogue, Incoming
from core.domain import normalize_language
from core.errors import TooLarge, UnsupportedType
from core.event_reader import EventRecord
from core.models import Attachment, ContactIdentity, Message, Ticket, WidgetReceipt
from core.services.contacts import (
    contact_for_identity,
    find_identity,
    mark_seen,
    sender_of,
    set_reply_email,
    valid_email,
)
from core.services.relay import Route
from core.services.tickets import READ_EVENT
from core.services.widgets import origin_allowed, widget_by_key
from web.api.registry import read_at_most
from web.downloads import send_stored
from web.widget import adapter, frames, limits, tokens

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parents[1] / "static"
CHANNEL = "web"
BURST = 20  # frames a socket may send at once, refilled at RATE per second
RATE = 2.0
HEARTBEAT = 15.0  # seconds between comments on an idle event stream (proxies drop silent ones)
LIFETIME = 60.0  # an event stream ends after this long and the widget opens the next one
MAX_VISITS = 10_000  # visits kept until their visitor's identity exists
TYPING_EVERY = 3.0  # seconds: a visitor's typing reaches the operators at most this often
TYPING_EVENT = "visitor.typing"  # not "ticket.*": the panel's lists reload on those
VISIT_EVENT = "visitor.visit"  # the visitor's page changed: the ticket view reads the card again
ORIGIN_OK: web.RequestKey[str] = web.RequestKey("widget_origin_ok", str)


@dataclass(frozen=True)
class Guest:
    """Who is on the other end: the site and the visitor its token names."""

    site_id: int
    visitor: tokens.Visitor
    token: str
    language: str
    site: dict[str, str] = field(default_factory=dict)  # what the widget shows: greeting, color, hours
    queue_id: int | None = None  # where the site's tickets go (None: the topic the visitor picks)
    prechat: str = "off"  # the site's pre-chat form: off, optional, required


class PrechatRefused(Exception):
    """A pre-chat frame for a site with no pre-chat form."""


class PrechatIncomplete(Exception):
    """A required pre-chat form answered without a name or an e-mail address."""


class PrechatMissing(Exception):
    """A message or a button on a site whose pre-chat form is required, before the form was answered
    (the widget never sends one; a script of the visitor's own might)."""


class WidgetRefused(Exception):
    def __init__(self, status: int, code: str, retry_after: int = 0) -> None:
        super().__init__(code)
        self.status, self.code, self.retry_after = status, code, retry_after

    def response(self) -> web.Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
        return web.json_response({"error": self.code}, status=self.status, headers=headers)


class Outlet(Protocol):
    """Where a visitor's frames go: the WebSocket or the event stream."""

    @property
    def closed(self) -> bool: ...

    async def put(self, payload: dict[str, Any]) -> None: ...

    async def close(self) -> Any: ...


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, default=str)


@dataclass(eq=False)
class SocketOutlet:
    ws: web.WebSocketResponse

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def put(self, payload: dict[str, Any]) -> None:
        await self.ws.send_str(_json(payload))

    async def close(self) -> Any:
        return await self.ws.close()


@dataclass(eq=False)
class StreamOutlet:
    """Server-Sent Events: each frame one `message` event; a message frame carries its id as the event's
    id, so the browser's Last-Event-ID is the widget's `after` (the same resume as the socket's)."""

    response: web.StreamResponse
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def closed(self) -> bool:
        return self.ended.is_set()

    async def put(self, payload: dict[str, Any]) -> None:
        event_id = f"id: {payload['id']}\n" if payload.get("type") == "message" else ""
        await self.write(f"{event_id}data: {_json(payload)}\n\n")

    async def write(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self.response.write(text.encode())
        except (ConnectionError, ClientConnectionResetError, RuntimeError):
            self.ended.set()  # the visitor went away: the stream's loop ends

    async def close(self) -> None:
        self.ended.set()


@dataclass(eq=False)  # one socket is itself: kept in sets by identity
class Socket:
    """One live connection of a visitor (a WebSocket or an event stream) and what it has sent."""

    out: Outlet
    guest: Guest
    cursor: int
    ip: str = ""
    contact_id: int | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    typing: bool = False  # an operator is typing: told with the next push
    full: bool = True  # the next push reads the history too (a delivery, a connect), not only the state
    assignee_id: int | None = None  # of the latest ticket, as this socket last sent it in `state`
    read: dict[str, Any] | None = None  # the operators' read mark this socket last sent
    shown: set[str] = field(default_factory=set)  # closing notices this socket sent
    state: dict[str, Any] | None = None  # the conversation state this socket last sent
    availability: dict[str, Any] | None = None  # whether a human answers now, as this socket last sent it
    allowance: float = BURST
    checked: float = field(default_factory=time.monotonic)

    @property
    def ws(self) -> Outlet:
        """The desk's end (tests close it to take the network away)."""
        return self.out

    async def send(self, payloads: Sequence[dict[str, Any]]) -> None:
        async with self.lock:
            for payload in payloads:
                await self.out.put(payload)

    def assignee_of(self, ticket_id: object) -> int | None:
        """The assignee this socket last told the widget of for that ticket (a ticket its state has not
        named yet: none, as every new ticket starts unassigned)."""
        known = self.state is not None and self.state.get("ticket_id") == ticket_id
        return self.assignee_id if known else None

    def take(self) -> bool:
        """One frame from the socket's allowance (a token bucket)."""
        now = time.monotonic()
        self.allowance = min(BURST, self.allowance + (now - self.checked) * RATE)
        self.checked = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True


class VisitorHub:
    """The open sockets of this process by contact; `widget.push` events (from any process's outbox
    worker) wake the contact's sockets, which then read what is new from the database."""

    def __init__(self) -> None:
        self.sockets: dict[int, set[Socket]] = {}
        self.visitors: dict[str, set[Socket]] = {}  # every socket by visitor, also before the contact exists

    def add(self, socket: Socket) -> None:
        self.visitors.setdefault(socket.guest.visitor.id, set()).add(socket)
        if socket.contact_id is not None:
            self.sockets.setdefault(socket.contact_id, set()).add(socket)

    def remove(self, socket: Socket) -> None:
        _discard(self.visitors, socket.guest.visitor.id, socket)
        if socket.contact_id is not None:
            _discard(self.sockets, socket.contact_id, socket)

    def of_visitor(self, visitor: str) -> list[Socket]:
        return list(self.visitors.get(visitor, ()))

    def joined(self, visitor: str, contact_id: int) -> None:
        """The visitor's identity exists now (their first frame, on any transport): their sockets hear
        the contact's pushes from here on."""
        for socket in self.of_visitor(visitor):
            if socket.contact_id is None:
                socket.contact_id = contact_id
                self.add(socket)

    async def on_events(self, batch: Sequence[EventRecord]) -> None:
        """`widget.push` (a delivery): the sockets read what is new. A web ticket's read mark moved
        (`messages.read`): the same, so the widget has the ids of the visitor's own messages it marks.
        A `ticket.updated` whose assignee is not the one the socket last sent for that ticket (an
        assignment): only the state, at once, with no delivery behind it; the others (one per message)
        wake nobody, so what the widget receives otherwise is as before."""
        for event in batch:
            data = event.data
            if event.type == adapter.PUSH:
                for socket in list(self.sockets.get(int(data["contact_id"]), ())):
                    if data.get("kind") == "chat_action":
                        socket.typing = True
                    socket.full = True
                    socket.wake.set()
            elif event.type in ("ticket.updated", READ_EVENT) and data.get("channel") == CHANNEL:
                for socket in list(self.sockets.get(int(data.get("contact_id") or 0), ())):
                    if event.type == READ_EVENT:  # with the history: the widget learns its messages' ids
                        socket.full = True
                        socket.wake.set()
                    elif data.get("assignee_id") != socket.assignee_of(data.get("id")):  # an assignment
                        socket.wake.set()


def _discard(index: dict[Any, set[Socket]], key: object, socket: Socket) -> None:
    found = index.get(key)
    if found is not None:
        found.discard(socket)
        if not found:
            del index[key]


@dataclass
class Widget:
    desk: Desk
    spec: ChannelSpec
    dialogue: Dialogue
    hub: VisitorHub = field(default_factory=VisitorHub)
    heartbeat: float = HEARTBEAT
    lifetime: float = LIFETIME
    rate_limits: limits.Limits = field(init=False)
    trusted: list[limits.Network] = field(init=False)
    visits: dict[str, dict[str, Any]] = field(default_factory=dict)  # hello visits waiting for an identity
    typed: dict[str, float] = field(default_factory=dict)  # visitor -> when their typing was last told

    def __post_init__(self) -> None:
        settings = self.desk.settings
        self.rate_limits = limits.Limits(
            visitor=limits.Limiter("visitor", settings.widget_visitor_burst, settings.widget_visitor_rate),
            ip=limits.Limiter("ip", settings.widget_ip_burst, settings.widget_ip_rate),
            connects=limits.Limiter("connects", settings.widget_connects_per_minute,
                                    settings.widget_connects_per_minute / 60))
        self.trusted = limits.parse_networks(settings.trusted_proxies)

    @property
    def secret(self) -> str:
        return self.desk.settings.secret_key.get_secret_value()

    def tr(self, language: str, code: str) -> str:
        return self.desk.translator.gettext(language, frames.ERRORS[code])

    def ip(self, request: web.Request) -> str:
        return limits.client_ip(request, self.trusted)

    # -- who is asking ------------------------------------------------------------------------------

    async def guest(self, request: web.Request, *, may_be_new: bool = False, navigation: bool = False) -> Guest:
        """`navigation`: a link the visitor opens (a file), which browsers send with no Origin; the token
        alone authorises it (a page of another site sends its own Origin, which is checked)."""
        language = normalize_language(request.query.get("lang"))
        async with self.desk.sessions() as session:
            widget = await widget_by_key(session, request.query.get("key", ""))
        if widget is None:
            raise WidgetRefused(404, "unknown_widget")
        origin = request.headers.get("Origin")
        if not (navigation and origin is None) and not origin_allowed(widget, origin):
            raise WidgetRefused(403, "origin")
        if origin:
            request[ORIGIN_OK] = origin  # the shop's page may read the answer (CORS)
        token = request.query.get("token", "")
        user, signature = request.query.get("user", ""), request.query.get("user_hash", "")
        scope = tokens.scope_of(widget.store_id, widget.id)
        site = {"greeting": widget.greeting, "color": widget.color, "hours": widget.hours}

        def at_site(visitor: tokens.Visitor, token: str) -> Guest:
            return Guest(site_id=widget.id, visitor=visitor, token=token, language=language, site=site,
                         queue_id=widget.queue_id, prechat=widget.prechat)

        if user and signature:  # a shop's user: the signature decides, the anonymous token does not matter
            verified = tokens.verified_user(widget.secret, scope, user, signature)
            if verified is None:
                raise WidgetRefused(401, "identity")
            if tokens.verify(self.secret, token, scope) is None:
                token = tokens.issue(self.secret, scope)[1] if may_be_new else ""
            return at_site(verified, token)
        # a claim with no signature is ignored: the visitor stays the anonymous one their token names
        if not token and may_be_new:
            visitor, token = tokens.issue(self.secret, scope)
            return at_site(visitor, token)
        found = tokens.verify(self.secret, token, scope)
        if found is None:
            raise WidgetRefused(401, "token")
        return at_site(found, token)

    async def known_contact(self, visitor: tokens.Visitor) -> int | None:
        async with self.desk.sessions() as session:
            return await session.scalar(select(ContactIdentity.contact_id).where(
                ContactIdentity.channel == CHANNEL, ContactIdentity.external_id == visitor.id))

    async def arriving(self, request: web.Request) -> tuple[Guest, str]:
        """A new socket or event stream: within the IP's connections per minute, then the guest."""
        ip = self.ip(request)
        wait = self.rate_limits.check([(self.rate_limits.connects, ip)], ip=ip, path=request.path)
        if wait:
            raise WidgetRefused(429, "rate_limited", retry_after=wait)
        return await self.guest(request, may_be_new=True), ip

    def hello(self, guest: Guest) -> dict[str, Any]:
        files = self.spec.files
        return {"type": "hello", "token": guest.token, "visitor": guest.visitor.id,
                "verified": guest.visitor.user is not None, "site": guest.site, "prechat": guest.prechat,
                "files": files and {"max_bytes": files.max_bytes, "kinds": sorted(files.kinds)}}

    # -- the socket ---------------------------------------------------------------------------------

    async def socket(self, request: web.Request) -> web.StreamResponse:
        try:
            guest, ip = await self.arriving(request)
        except WidgetRefused as refused:
            return refused.response()
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=frames.MAX_FRAME_BYTES)
        await ws.prepare(request)
        socket = Socket(SocketOutlet(ws), guest, _cursor(request.query.get("after", "0")), ip)
        await self._opened(socket)
        pusher = asyncio.ensure_future(self._push(socket))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await socket.send(await self.take_frame(guest, ip, message.data, socket))
                elif message.type == WSMsgType.BINARY:
                    await socket.send([self.error(guest.language, "bad_frame")])
        finally:
            await self._closed(socket, pusher)
        return ws

    async def _opened(self, socket: Socket) -> None:
        socket.contact_id = await self.known_contact(socket.guest.visitor)
        self.hub.add(socket)
        await socket.send([self.hello(socket.guest)])
        socket.wake.set()  # the first frames: what the visitor missed

    async def _closed(self, socket: Socket, pusher: asyncio.Future[None]) -> None:
        self.hub.remove(socket)
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher

    # -- the HTTP fallback: Server-Sent Events down, POST up ---------------------------------------

    async def events(self, request: web.Request) -> web.StreamResponse:
        """`GET /widget/events?key&token&lang&after`: what the socket sends, as an event stream, for
        pages whose network breaks WebSockets. It resumes after `Last-Event-ID` (else `after`), starts
        with the same hello and state, keeps proxies awake with a comment every `heartbeat` seconds and
        ends after `lifetime` seconds with a `bye` frame (the widget opens the next one at once)."""
        try:
            guest, ip = await self.arriving(request)
        except WidgetRefused as refused:
            return _cors(request, refused.response())
        response = _cors(request, web.StreamResponse(headers={
            "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no"}))
        await response.prepare(request)
        outlet = StreamOutlet(response)
        resume = request.headers.get("Last-Event-ID", "")
        socket = Socket(outlet, guest, _cursor(resume if resume else request.query.get("after", "0")), ip)
        await self._opened(socket)
        pusher = asyncio.ensure_future(self._push(socket))
        ends = asyncio.get_running_loop().time() + self.lifetime
        try:
            while not outlet.closed and (left := ends - asyncio.get_running_loop().time()) > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(self.heartbeat, left)):
                        await outlet.ended.wait()
                if socket.contact_id is None:
                    await self._join_late(socket)
                async with socket.lock:
                    await outlet.write(": keep-alive\n\n")
            await socket.send([{"type": "bye"}])
        finally:
            await outlet.close()
            await self._closed(socket, pusher)
        return response

    async def _join_late(self, socket: Socket) -> None:
        """An identity made through a POST to another process: this stream joins the contact's pushes
        and reads what it may have missed meanwhile."""
        try:
            contact_id = await self.known_contact(socket.guest.visitor)
        except Exception as exc:  # the database away: the next heartbeat asks again
            if not database_unavailable(exc):
                raise
            return
        if contact_id is not None:
            self.hub.joined(socket.guest.visitor.id, contact_id)
            socket.full = True
            socket.wake.set()

    async def send(self, request: web.Request) -> web.StreamResponse:
        """`POST /widget/send?key&token&lang`: one frame as the socket takes it; the answer is what the
        socket would send back (`{"frames": [...]}`): ack and answers, or an error frame with the status
        it means (422 unreadable, 429 with Retry-After, 503 the database away)."""
        try:
            guest = await self.guest(request)
        except WidgetRefused as refused:
            return _cors(request, refused.response())
        body = await request.read()  # read (and kept) by `input_guard` already, within the app's body cap
        if len(body) > frames.MAX_FRAME_BYTES:
            return _cors(request, web.json_response({"frames": [self.error(guest.language, "bad_frame")]},
                                                    status=413))
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError:
            data = ""
        sent = await self.take_frame(guest, self.ip(request), data, None)
        status, headers = 200, {}
        error = next((f for f in sent if f.get("type") == "error"), None)
        if error is not None:
            status = {"rate_limited": 429, "too_fast": 429, "bad_frame": 422}.get(
                error["code"], 503 if error.get("retry") else 500)
            if error.get("retry_after"):
                headers["Retry-After"] = str(error["retry_after"])
        return _cors(request, web.json_response({"frames": sent}, status=status, headers=headers))

    async def preflight(self, request: web.Request) -> web.StreamResponse:
        """CORS preflight of the fallback and the upload: only a site of the named widget may go on."""
        try:
            await self.guest(request, may_be_new=True)
        except WidgetRefused as refused:
            if refused.code in ("origin", "unknown_widget"):
                return refused.response()
        if ORIGIN_OK not in request:
            return web.json_response({"error": "origin"}, status=403)
        return _cors(request, web.Response(status=204, headers={
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Last-Event-ID",
            "Access-Control-Max-Age": "600"}))

    # -- what the desk pushes -----------------------------------------------------------------------

    async def _push(self, socket: Socket) -> None:
        """Send what is new for the visitor each time something may be (connect, a delivery)."""
        while not socket.out.closed:
            await socket.wake.wait()
            socket.wake.clear()
            if socket.contact_id is None:
                continue
            if socket.typing:
                socket.typing = False
                await socket.send([{"type": "typing"}])
            full, socket.full = socket.full, False
            try:
                async with self.desk.sessions() as session:
                    new: list[dict[str, Any]] = []
                    if full:
                        language = await adapter.contact_language(session, socket.contact_id)
                        new = await adapter.history(session, socket.contact_id, socket.cursor,
                                                    self.desk.translator, language)
                    state, assignee_id, read = await adapter.conversation(session, socket.contact_id)
            except Exception as exc:  # the database away: the next wake or reconnect reads again
                if not database_unavailable(exc):
                    raise
                log.warning("widget history unavailable: %s", exc)
                socket.full = socket.full or full
                continue
            messages = [f["id"] for f in new if f["type"] == "message"]
            socket.cursor = max([socket.cursor, *messages])
            if len(messages) >= adapter.HISTORY_LIMIT:
                socket.full = True
                socket.wake.set()  # more than one read's worth: read on
            new = [f for f in new if f["type"] != "closed" or f["key"] not in socket.shown]
            socket.shown.update(f["key"] for f in new if f["type"] == "closed")
            socket.assignee_id = assignee_id
            if state != socket.state:  # after the messages: the widget draws them before it hides its form
                socket.state = state
                new.append(state)
            if read is not None and read != socket.read:  # after the messages it marks "Seen"
                socket.read = read
                new.append(read)
            new += await self.availability_change(socket.guest, socket)
            if new:
                await socket.send(new)

    def error(self, language: str, code: str, client_id: str | None = None) -> dict[str, Any]:
        return {"type": "error", "code": code, "text": self.tr(language, code), "client_id": client_id}

    def refusal(self, language: str, data: str) -> dict[str, Any]:
        """The error frame for a frame that did not validate. A message too long to take is named as such
        (`reason: too_long`, its client id, `retry: false`): the widget gives it up instead of resending
        it at every reconnect, and the visitor reads why."""
        prechat = frames.bad_prechat(data)
        if prechat is not None:  # the form's answers did not validate: the visitor corrects them
            return {**self.error(language, "bad_prechat", prechat), "retry": False}
        too_long = frames.too_long(data)
        if too_long is None:
            return self.error(language, "bad_frame")
        return {**self.error(language, "bad_frame", too_long), "reason": "too_long", "max": frames.MAX_TEXT,
                "text": self.tr(language, "too_long"), "retry": False}

    def limited(self, guest: Guest, ip: str, client_id: str | None) -> dict[str, Any] | None:
        """The visitor's and the IP's allowance (across all their sockets and requests here): None if
        the frame may run, else the `rate_limited` frame (the widget keeps the frame and resends it
        after `retry_after` seconds)."""
        wait = self.rate_limits.check([(self.rate_limits.visitor, guest.visitor.id), (self.rate_limits.ip, ip)],
                                 visitor=guest.visitor.id, ip=ip, site_id=guest.site_id)
        if not wait:
            return None
        return {**self.error(guest.language, "rate_limited", client_id), "retry_after": wait, "retry": True}

    async def take_frame(self, guest: Guest, ip: str, data: str, socket: Socket | None) -> list[dict[str, Any]]:
        """One visitor frame from either transport (`socket` None: a POST): what to answer."""
        language = guest.language
        try:
            frame = frames.INBOUND.validate_json(data)
        except ValidationError:
            return [self.refusal(language, data)]
        if isinstance(frame, frames.Ping):
            return [{"type": "pong"}]
        if isinstance(frame, frames.Seen):  # a hint from the widget: within the socket's own allowance only
            if socket is None or socket.take():
                await self.remember_seen(guest.visitor.id, frame.id)
            return []
        if isinstance(frame, frames.Typing):  # the same: a hint, never an answer or an error
            if socket is None or socket.take():
                await self.visitor_typing(guest, socket)
            return []
        client_id = None if isinstance(frame, frames.Hello) else frame.client_id
        if socket is not None and not socket.take():
            return [] if client_id is None else [{**self.error(language, "too_fast", client_id), "retry_after": 1}]
        refused = self.limited(guest, ip, client_id)
        if refused is not None:
            return [] if client_id is None else [refused]  # a hello comes again with the next connect
        if isinstance(frame, frames.Hello):
            self.keep_visit(guest.visitor.id, frame.visit)
            await self.remember_visit(guest.visitor.id)
            return []
        if isinstance(frame, frames.Email) and valid_email(frame.email) is None:  # nothing stored; not resent
            return [{**self.error(language, "bad_email", client_id), "retry": False}]
        try:
            answers = await self.handle(guest, frame)
        except PrechatRefused:
            return [{**self.error(language, "bad_frame", client_id), "retry": False}]
        except PrechatIncomplete:
            return [{**self.error(language, "bad_prechat", client_id), "retry": False}]
        except PrechatMissing:  # kept by the widget and sent again once the form is answered
            return [{**self.error(language, "prechat_required", client_id), "retry": True, "retry_after": 3}]
        except Exception as exc:
            # The database away: the widget keeps the frame and sends it again. Anything else would fail
            # again the same way, so the widget is told to give that frame up (`retry: false`).
            away = database_unavailable(exc)
            log.warning("widget frame failed", exc_info=not away)
            return [{**self.error(language, "failed", client_id), "retry": away}]
        if any(s.contact_id is None for s in self.hub.of_visitor(guest.visitor.id)):  # its first frame, maybe
            contact_id = await self.known_contact(guest.visitor)
            if contact_id is not None:
                self.hub.joined(guest.visitor.id, contact_id)
        if guest.visitor.id in self.visits:
            await self.remember_visit(guest.visitor.id)
        extra: list[dict[str, Any]] = []
        if isinstance(frame, frames.Press | frames.Email):  # a handoff, or a new address: where things stand
            extra = await self.availability_change(guest, socket)
        return [{"type": "ack", "client_id": client_id}, *answers, *extra]

    async def availability_change(self, guest: Guest, socket: Socket | None) -> list[dict[str, Any]]:
        """The availability frame when it differs from what the socket last sent (none before a ticket);
        a POST (no socket) gets it each time."""
        contact_id = socket.contact_id if socket is not None else None
        try:
            if contact_id is None:
                contact_id = await self.known_contact(guest.visitor)
            if contact_id is None:
                return []
            async with self.desk.sessions() as session:
                frame = await adapter.availability(session, contact_id, guest.visitor.id,
                                                   self.spec.email_copy_after is not None)
        except Exception as exc:  # the database away: the next wake reads again
            if not database_unavailable(exc):
                raise
            return []
        if frame is None or (socket is not None and frame == socket.availability):
            return []
        if socket is not None:
            socket.availability = frame
        return [frame]

    async def remember_seen(self, visitor: str, message_id: int) -> None:
        """What the widget has shown, for the e-mail copies of replies (`core/services/email_copies.py`):
        never past what this process's sockets of the visitor were sent, so a made-up id only stops the
        visitor's own copies."""
        sent = max((s.cursor for s in self.hub.of_visitor(visitor)), default=0)
        try:
            async with self.desk.sessions() as session, session.begin():
                await mark_seen(session, CHANNEL, visitor, min(message_id, sent))
        except Exception as exc:  # a hint: the widget says it again soon
            if not database_unavailable(exc):
                raise
            log.warning("widget seen not stored: %s", exc)

    def typing_due(self, visitor: str) -> bool:
        """At most one typing event per visitor every TYPING_EVERY seconds, whatever the widget sends
        (a POST has no socket bucket, and a visitor may have several tabs)."""
        now = time.monotonic()
        if now - self.typed.get(visitor, -TYPING_EVERY) < TYPING_EVERY:
            return False
        if len(self.typed) >= MAX_VISITS:  # forget those who stopped typing
            self.typed = {v: at for v, at in self.typed.items() if now - at < TYPING_EVERY}
        self.typed[visitor] = now
        return True

    async def visitor_typing(self, guest: Guest, socket: Socket | None) -> None:
        """Tell the operators of the visitor's open web ticket (`visitor.typing`, audience staff: the
        same who may see the ticket's messages; partners see no tickets). Nothing before a ticket.

        The event goes through the event table like every other (it is how another web process's
        panel sockets hear it, in order); it is small and at most one per visitor every 3 s, like the
        operators' typing through the outbox, and housekeeping prunes old events. A replay after the
        panel's reconnect may show a stale one for its few seconds: harmless."""
        if not self.typing_due(guest.visitor.id):
            return
        try:
            contact_id = socket.contact_id if socket is not None else None
            if contact_id is None:
                contact_id = await self.known_contact(guest.visitor)
            if contact_id is None:
                return
            async with self.desk.sessions() as session, session.begin():
                ticket_id = await adapter.open_ticket(session, contact_id)
                if ticket_id is not None:
                    event_bus.publish(session, TYPING_EVENT, {"ticket_id": ticket_id}, ticket_id=ticket_id)
        except Exception as exc:  # a hint: the next keystrokes say it again
            if not database_unavailable(exc):
                raise
            log.warning("widget typing not told: %s", exc)

    def keep_visit(self, visitor: str, visit: frames.Visit) -> None:
        self.visits.pop(visitor, None)
        if len(self.visits) >= MAX_VISITS:  # the oldest waiting visit goes (a visitor who never wrote)
            del self.visits[next(iter(self.visits))]
        self.visits[visitor] = {**visit.model_dump(), "at": datetime.now(UTC).isoformat(timespec="seconds")}

    async def remember_visit(self, visitor: str) -> None:
        """The hello's visit onto the visitor's identity (updated on each hello); kept here until the
        identity exists (it is made by the visitor's first frame, not by connecting). Merged into what
        is there: what the widget has shown (`seen`) stays."""
        visit = self.visits.get(visitor)
        if visit is None:
            return
        async with self.desk.sessions() as session, session.begin():
            contact_id = await session.scalar(
                update(ContactIdentity).where(ContactIdentity.channel == CHANNEL,
                                              ContactIdentity.external_id == visitor)
                .values(visit=func.coalesce(ContactIdentity.visit, sql_cast(literal("{}"), JSONB))
                        .op("||")(sql_cast(literal(json.dumps(visit)), JSONB)))
                .returning(ContactIdentity.contact_id))
            ticket_id = await adapter.latest_ticket(session, contact_id) if contact_id is not None else None
            if ticket_id is not None:  # the ticket view shows the card again (ids only: the card is read)
                event_bus.publish(session, VISIT_EVENT, {"ticket_id": ticket_id, "contact_id": contact_id},
                               ticket_id=ticket_id)
        if contact_id is not None and self.visits.get(visitor) is visit:
            del self.visits[visitor]

    # -- what a frame does ------------------------------------------------------------------------

    async def handle(self, guest: Guest,
                     frame: frames.Start | frames.Say | frames.Press | frames.Email | frames.Prechat,
                     files: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Run the frame through the dialogue once: a frame already handled gets its stored answers."""
        visitor = guest.visitor.id
        for attempt in (1, 2):
            try:
                async with self.desk.sessions() as session, session.begin():
                    receipt = await session.get(WidgetReceipt, (visitor, frame.client_id))
                    if receipt is not None:
                        return list(receipt.answers)
                    answers = await self._run(session, guest, frame, files)
                    session.add(WidgetReceipt(visitor=visitor, client_id=frame.client_id, answers=answers))
                return answers
            except IntegrityError:  # the same frame from another socket won: read its receipt
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _run(self, session: Any, guest: Guest,
                   frame: frames.Start | frames.Say | frames.Press | frames.Email | frames.Prechat,
                   files: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        if isinstance(frame, frames.Prechat):
            await self._prechat(session, guest, frame)
            return []
        # The name the identity has (the pre-chat form's, once given) stays: the default is only for a new one.
        known = await session.scalar(select(ContactIdentity.display_name).where(
            ContactIdentity.channel == CHANNEL, ContactIdentity.external_id == guest.visitor.id))
        contact = await contact_for_identity(session, CHANNEL, guest.visitor.id,
                                             name=known or _name(guest.visitor), language=guest.language)
        if isinstance(frame, frames.Say | frames.Press) and not await self._prechat_done(session, guest):
            raise PrechatMissing
        if isinstance(frame, frames.Email):
            identity = await find_identity(session, CHANNEL, guest.visitor.id)
            assert identity is not None
            address = await set_reply_email(session, identity, frame.email)
            log.info("widget reply e-mail set", extra={"contact": contact.id, "identity": identity.id})
            return [{"type": "email_saved", "email": address}]
        if isinstance(frame, frames.Start):
            answers = await self.dialogue.start(session, contact, CHANNEL)
        elif isinstance(frame, frames.Press):
            name, *args = frame.action
            route = Route(queue_id=guest.queue_id, site_id=guest.site_id)
            answers = await self.dialogue.action(session, contact, CHANNEL, Action(str(name), tuple(args)),
                                                 route=route)
        else:
            text = frame.text or None
            raw = {"visitor": guest.visitor.id, "id": frame.client_id, "text": frame.text, "files": files or []}
            summary = frame.text or ", ".join(str(f["name"]) for f in files or ())
            incoming = Incoming(text=text, raw=raw, key=adapter.message_key(guest.visitor.id, frame.client_id),
                                summary=summary)
            answers = await self.dialogue.message(session, contact, CHANNEL, incoming)
        return adapter.render(answers, contact.language)

    async def _prechat(self, session: Any, guest: Guest, frame: frames.Prechat) -> None:
        """The pre-chat form's answers onto the visitor's identity: the name becomes the identity's and
        the contact's (what operators read instead of "Visitor …"); the e-mail is kept on the identity
        only, unverified. Refused where the site has no form; an empty answer leaves a value as it is."""
        if guest.prechat == "off":
            raise PrechatRefused
        if guest.prechat == "required" and guest.visitor.user is None and not (frame.name and frame.email):
            raise PrechatIncomplete
        contact, identity = await sender_of(session, CHANNEL, guest.visitor.id,
                                            name=frame.name or _name(guest.visitor), language=guest.language)
        if frame.email:
            await set_reply_email(session, identity, frame.email)  # also where replies the visitor misses go
        await session.flush()
        log.info("widget prechat", extra={"contact_id": contact.id, "site_id": guest.site_id,
                                          "named": bool(frame.name), "email_given": bool(frame.email)})

    async def _prechat_done(self, session: Any, guest: Guest) -> bool:
        """Whether the visitor may write: the site's form is not required, they are the shop's signed-in
        user, or their identity holds the form's name and e-mail address."""
        if guest.prechat != "required" or guest.visitor.user is not None:
            return True
        identity = await find_identity(session, CHANNEL, guest.visitor.id)
        return (identity is not None and identity.given_email is not None
                and identity.display_name not in (None, "", _name(guest.visitor)))

    # -- files ------------------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.StreamResponse:
        """A visitor's file (multipart: client_id, optional text, file), then the same path as a message."""
        try:
            guest = await self.guest(request)
        except WidgetRefused as refused:
            return _cors(request, refused.response())
        allowance = self.spec.files
        assert allowance is not None
        if not request.content_type.startswith("multipart/"):
            return self._refuse(request, guest, 422, "bad_frame")
        limited = self.limited(guest, self.ip(request), None)
        if limited is not None:
            return _cors(request, web.json_response(limited, status=429,
                                                    headers={"Retry-After": str(limited["retry_after"])}))
        fields: dict[str, str] = {}
        stored: list[dict[str, Any]] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            if part.filename is None:
                value = await part.read(decode=True)
                fields[str(part.name)] = value[: frames.MAX_TEXT * 4].decode("utf-8", "replace")
                continue
            data = await read_at_most(part, allowance.max_bytes)
            if len(data) > allowance.max_bytes:
                return self._refuse(request, guest, 413, "too_large")
            content_type = part.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
            kind = "photo" if content_type.startswith("image/") else "document"
            if kind not in allowance.kinds:
                return self._refuse(request, guest, 415, "bad_type")
            try:
                saved = await self.desk.storage.save(data, part.filename, content_type)
            except TooLarge:
                return self._refuse(request, guest, 413, "too_large")
            except UnsupportedType:
                return self._refuse(request, guest, 415, "bad_type")
            stored.append({"name": part.filename[:255], "type": content_type[:127], "size": saved.size,
                           "sha256": saved.sha256, "storage_key": saved.storage_key, "key": saved.sha256})
        client_id, text = fields.get("client_id", ""), fields.get("text", "").strip()
        if not stored or not frames.CLIENT_ID.match(client_id) or len(text) > frames.MAX_TEXT:
            return self._refuse(request, guest, 422, "bad_frame")
        frame = frames.Say.model_construct(type="message", client_id=client_id, text=text)
        try:
            answers = await self.handle(guest, frame, stored)
        except PrechatMissing:
            return self._refuse(request, guest, 422, "prechat_required")
        return _cors(request, web.json_response({"type": "ack", "client_id": frame.client_id, "answers": answers}))

    async def download(self, request: web.Request) -> web.StreamResponse:
        """A file of the visitor's own tickets (anything else is 404, as if it did not exist)."""
        try:
            guest = await self.guest(request, navigation=True)
        except WidgetRefused as refused:
            return web.json_response({"error": refused.code}, status=refused.status)
        attachment_id = request.match_info["attachment_id"]
        contact_id = await self.known_contact(guest.visitor)
        async with self.desk.sessions() as session:
            found = await session.scalar(
                select(Attachment).join(Message, Message.id == Attachment.message_id)
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(Attachment.id == int(attachment_id), Ticket.contact_id == contact_id,
                       Ticket.channel == CHANNEL, Attachment.storage_key.is_not(None))
            ) if contact_id is not None else None
        if found is None or found.storage_key is None:
            raise web.HTTPNotFound(text="not found")
        inline = found.content_type.startswith("image/") and not found.content_type.startswith("image/svg")
        disposition = "inline" if inline else "attachment"
        headers = {
            "Content-Type": found.content_type if inline else "application/octet-stream",
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{_quote(found.file_name)}",
            "Cache-Control": "private, no-store",
        }
        if inline:  # the widget shows it in the shop's page (an <img>, also under the shop's COEP)
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return await send_stored(request, self.desk.storage, found.storage_key, headers,
                                 missing=web.HTTPNotFound(text="not found"))

    def _refuse(self, request: web.Request, guest: Guest, status: int, code: str) -> web.StreamResponse:
        return _cors(request, web.json_response(self.error(guest.language, code), status=status))


def _cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """The shop's page may read the answer only when its Origin is one of the widget's sites (checked by
    `Widget.guest`); never `*`, and caches keep answers per Origin."""
    response.headers["Vary"] = "Origin"
    origin = request.get(ORIGIN_OK)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


def _cursor(value: str) -> int:
    """A resume point (`after`, Last-Event-ID): a message id, else from the start."""
    return int(value) if value.isdigit() and len(value) < 19 else 0


def _name(visitor: tokens.Visitor) -> str:
    return f"Shop user {visitor.user}" if visitor.user else f"Visitor {visitor.id[:6]}"


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


async def script(request: web.Request) -> web.StreamResponse:
    """widget.js, plain JavaScript with no build step; any site may load it (the socket checks Origin)."""
    return web.FileResponse(STATIC / "widget.js", headers={"Content-Type": "application/javascript; charset=utf-8",
                                                          "Cache-Control": "public, max-age=300",
                                                          "Cross-Origin-Resource-Policy": "cross-origin"})


WIDGET: web.AppKey[Widget] = web.AppKey("widget")


def setup(app: web.Application, widget: Widget) -> None:
    app[WIDGET] = widget
    app.router.add_get("/widget.js", script)
    app.router.add_get("/widget/ws", widget.socket)
    app.router.add_get("/widget/events", widget.events)
    app.router.add_post("/widget/send", widget.send)
    app.router.add_post("/widget/files", widget.upload)
    for path in ("/widget/events", "/widget/send", "/widget/files"):
        app.router.add_route("OPTIONS", path, widget.preflight)
    app.router.add_get("/widget/files/{attachment_id}", widget.download)
    widget.desk.stream.subscribe(widget.hub.on_events)
