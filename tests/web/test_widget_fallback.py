# ruff: noqa: F811  (the fixtures imported from the first widget tests are parameters here)
"""The widget's HTTP fallback and its rate limits, through real HTTP on the production app: frames go up
as `POST /widget/send`, what the desk pushes comes down as Server-Sent Events on `GET /widget/events`, with
the socket's semantics (hello and state first, resume after the last message id, a resent frame stored
once); CORS only for the widget's sites; the per-visitor and per-IP limits across sockets and requests
answer `rate_limited` with a retry-after, and the frame sent again after it is stored once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.kb.transfer import import_articles, read_articles
from core.models import Message, Ticket, WidgetReceipt
from tests.web.harness import Panel, receive_until, start_panel
from tests.web.test_ticket_api import signed_in
from tests.web.test_widget import (  # noqa: F401
    KB_SEED,
    SHOP,
    Visitor,
    answers,
    button,
    desk_panel,
    shop_widget,
    visiting,
    worker_of,
)
from web.widget.endpoint import WIDGET

_ids = itertools.count(1)


@dataclass
class Stream:
    """An open `GET /widget/events`: its frames (with their event ids) and heartbeat comments as read."""

    response: aiohttp.ClientResponse
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    comments: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        data: list[str] = []
        event_id = None
        try:
            async for raw in self.response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith(":"):
                    self.comments += 1
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line.startswith("id: "):
                    event_id = line[4:]
                elif not line and data:
                    frame = json.loads("\n".join(data))
                    await self.frames.put({**frame, "_event_id": event_id} if event_id else frame)
                    data, event_id = [], None
        finally:
            self.ended.set()

    async def until(self, predicate: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                got.append(await self.frames.get())
                if predicate(got[-1]):
                    return got

    async def drain(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    got.append(await self.frames.get())
        return got

    async def close(self) -> None:
        self.response.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


@dataclass
class HttpVisitor(Visitor):
    """The widget in its fallback: POSTs frames, reads events."""

    stream: Stream | None = None
    forwarded_for: str = ""

    def headers(self, **extra: str) -> dict[str, str]:
        forwarded = {"X-Forwarded-For": self.forwarded_for} if self.forwarded_for else {}
        return {"Origin": self.origin, **forwarded, **extra}

    async def open(self, last_event_id: str | None = None, **query: Any) -> list[dict[str, Any]]:
        """Open the event stream; the hello and what comes at once."""
        if self.stream is not None:
            await self.stream.close()
        headers = self.headers(**({"Last-Event-ID": last_event_id} if last_event_id else {}))
        response = await self.client.get(self.panel.url("/widget/events"), params=self.query(**query),
                                         headers=headers)
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/event-stream")
        self.stream = Stream(response)
        self.stream.reader = asyncio.ensure_future(self.stream.read())
        hello = await self.stream.frames.get()
        assert hello["type"] == "hello"
        self.token = hello["token"]
        got = [hello, *await self.stream.drain()]
        self.note(got)
        return got

    async def post(self, frame: dict[str, Any]) -> tuple[int, dict[str, str], list[dict[str, Any]]]:
        async with self.client.post(self.panel.url("/widget/send"), params=self.query(), json=frame,
                                    headers=self.headers()) as r:
            return r.status, dict(r.headers), (await r.json())["frames"]

    async def send(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        status, _, got = await self.post(frame)
        assert status == 200 and got[0] == {"type": "ack", "client_id": frame["client_id"]}, got
        return got

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        await super().close()


async def hand_off(visitor: Visitor) -> int:
    await visitor.start()
    article = answers(await visitor.say("how do I reset my password?"))
    assert article and article[0]["article"]["title"] == "How to reset your password"
    opened = answers(await visitor.press(button(await visitor.press(button(article, "Talk to a human")),
                                                "Technical support")))
    _, ticket_id = button(opened, "Close the ticket")["action"]
    return int(ticket_id)


_operators: dict[int, Any] = {}


async def operator_replies(panel: Panel, sessions: Any, ticket_id: int, *bodies: str) -> None:
    if id(panel) not in _operators:
        _operators[id(panel)] = await signed_in(panel, sessions, "olga@example.com")
    operator, csrf = _operators[id(panel)]
    for body in bodies:
        async with operator.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": body},
                                 headers=csrf) as r:
            assert r.status == 201
    await worker_of(panel).run_once()


async def test_a_whole_conversation_over_post_and_server_sent_events(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key, cls=HttpVisitor) as anna:
        assert isinstance(anna, HttpVisitor)
        hello, *missed = await anna.open()
        assert hello["token"] and hello["files"] and missed == []
        ticket_id = await hand_off(anna)  # every answer comes back in the POST's response
        await operator_replies(desk_panel, sessions, ticket_id, "Hello Anna, I will help")
        assert anna.stream is not None
        got = await anna.stream.until(lambda f: f.get("type") == "message" and f["author"] == "operator")
        reply = got[-1]
        assert reply["body"] == "Hello Anna, I will help" and reply["_event_id"] == str(reply["id"])
        state = await anna.stream.until(lambda f: f.get("type") == "state")
        assert state[-1]["status"] == "open" and state[-1]["ticket_id"] == ticket_id
        status, _, [pong] = await anna.post({"type": "ping"})
        assert status == 200 and pong == {"type": "pong"}


async def test_an_event_stream_resumes_after_the_last_event_id_with_exactly_what_was_missed(
        desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    anna = HttpVisitor(desk_panel, key)
    try:
        await anna.open()
        ticket_id = await hand_off(anna)
        await operator_replies(desk_panel, sessions, ticket_id, "first")
        assert anna.stream is not None
        seen = await anna.stream.until(lambda f: f.get("body") == "first")
        last_id = seen[-1]["_event_id"]
        await anna.stream.close()
        await operator_replies(desk_panel, sessions, ticket_id, "second", "third")

        got = await anna.open(last_event_id=last_id, after=0)  # the header wins over `after`
        bodies = [f["body"] for f in got if f["type"] == "message"]
        assert bodies == ["second", "third"]
        kinds = [f["type"] for f in got]
        assert kinds.index("state") > kinds.index("message")  # the state after the messages, as on the socket
        assert await anna.stream.drain() == []  # and nothing again
        await anna.stream.close()

        got = await anna.open(after=last_id)  # `?after=` the same
        assert [f["body"] for f in got if f["type"] == "message"] == ["second", "third"]
    finally:
        await anna.close()


async def test_an_event_stream_beats_and_ends_so_the_widget_reconnects(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    widget = desk_panel.app[WIDGET]
    widget.heartbeat, widget.lifetime = 0.2, 1.0
    anna = HttpVisitor(desk_panel, key)
    try:
        await anna.open()
        assert anna.stream is not None
        [bye] = await anna.stream.until(lambda f: f.get("type") == "bye", timeout=3)
        async with asyncio.timeout(2):
            await anna.stream.ended.wait()
        assert anna.stream.comments >= 3
        assert bye == {"type": "bye"}
        assert all(not s for s in widget.hub.visitors.values())  # the stream left the hub
    finally:
        await anna.close()


async def test_a_post_sent_again_with_the_same_client_id_is_stored_once(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    anna = HttpVisitor(desk_panel, key)
    try:
        await anna.open()
        ticket_id = await hand_off(anna)
        frame = {"type": "message", "client_id": "again-1", "text": "my order 1234 is late"}
        first = await anna.send(frame)
        second = await anna.send(frame)  # the answer was lost on the way: the widget sends it again
        assert first == second
        async with sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(Message).where(
                Message.ticket_id == ticket_id, Message.body == "my order 1234 is late"))
        assert stored == 1
        status, _, [error] = await anna.post({"type": "message", "client_id": "x", "text": "a" * 4001})
        assert status == 422 and error["reason"] == "too_long" and error["retry"] is False
        status, _, [error] = await anna.post({"type": "nonsense"})
        assert status == 422 and error["code"] == "bad_frame"
    finally:
        await anna.close()


async def test_foreign_origins_get_403_and_cors_headers_only_for_the_widget_sites(desk_panel: Panel,
                                                                                   sessions) -> None:
    _, key = await shop_widget(sessions)
    anna = HttpVisitor(desk_panel, key)
    try:
        await anna.open()
        assert anna.stream is not None
        assert anna.stream.response.headers["Access-Control-Allow-Origin"] == SHOP
        assert anna.stream.response.headers["Vary"] == "Origin"
        params = anna.query()
        async with anna.client.options(desk_panel.url("/widget/send"), params=params, headers={
                "Origin": SHOP, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type"}) as r:
            assert r.status == 204
            assert r.headers["Access-Control-Allow-Origin"] == SHOP and r.headers["Vary"] == "Origin"
            assert "POST" in r.headers["Access-Control-Allow-Methods"]
            assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]
        status, headers, _ = await anna.post({"type": "ping"})
        assert status == 200 and headers["Access-Control-Allow-Origin"] == SHOP

        evil = {"Origin": "https://evil.example"}
        for method, path in (("OPTIONS", "/widget/send"), ("OPTIONS", "/widget/events"), ("POST", "/widget/send"),
                             ("GET", "/widget/events"), ("OPTIONS", "/widget/files")):
            async with anna.client.request(method, desk_panel.url(path), params=params, headers=evil,
                                           json={"type": "ping"} if method == "POST" else None) as r:
                assert r.status == 403, (method, path)
                assert "Access-Control-Allow-Origin" not in r.headers
        async with anna.client.options(desk_panel.url("/widget/send"), params={**params, "key": "nope"},
                                       headers={"Origin": SHOP}) as r:
            assert r.status == 404 and "Access-Control-Allow-Origin" not in r.headers
        async with anna.client.post(desk_panel.url("/widget/send"), params={**params, "token": "forged"},
                                    headers={"Origin": SHOP}, json={"type": "ping"}) as r:
            assert r.status == 401
    finally:
        await anna.close()


# -- rate limits --------------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def limited_desk(database_url: str, tmp_path: Path, **limits: Any) -> AsyncIterator[Panel]:
    running = await start_panel(database_url, tmp_path, settings_overrides={"widget_enabled": True, **limits})
    async with running.desk.sessions() as session, session.begin():
        await import_articles(session, read_articles(KB_SEED))
    try:
        yield running
    finally:
        await running.close()


async def stored_bodies(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> list[str]:
    async with sessions() as session:
        return list((await session.scalars(select(Message.body).where(
            Message.ticket_id == ticket_id, Message.author_kind == "customer").order_by(Message.id))).all())


async def test_a_visitor_over_the_limit_on_two_sockets_is_told_to_wait_and_loses_nothing(
        database_url: str, sessions, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with limited_desk(database_url, tmp_path, widget_visitor_burst=6, widget_visitor_rate=0.5) as panel:
        _, key = await shop_widget(sessions)
        async with visiting(panel, key) as laptop, visiting(panel, key) as tab:
            [hello, *_] = await laptop.connect()
            hello_visitor = hello["visitor"]
            tab.token = laptop.token  # the same visitor in a second tab
            await tab.connect()
            ticket_id = await hand_off(laptop)
            refused = None
            sent: list[str] = []
            for n in range(8):
                visitor = (laptop, tab)[n % 2]
                client_id = f"burst{n}"
                await visitor.ws.send_json({"type": "message", "client_id": client_id, "text": f"line {n}"})
                got = await receive_until(visitor.ws, lambda f, client_id=client_id: f.get("client_id") == client_id
                                          and f.get("type") in ("ack", "error"))
                if got[-1]["type"] == "error":
                    refused = got[-1]
                    break
                sent.append(f"line {n}")
            assert refused is not None and refused["code"] == "rate_limited" and refused["retry"] is True
            assert refused["retry_after"] >= 1 and "few seconds" in refused["text"]
            [logged] = [r for r in caplog.records if r.getMessage() == "widget rate limited"]
            assert (logged.limit, logged.visitor, logged.ip) == ("visitor", hello_visitor, "127.0.0.1")  # type: ignore[attr-defined]
            assert laptop.token not in repr(logged.__dict__)  # who, never their token
            assert await stored_bodies(sessions, ticket_id) == ["how do I reset my password?", *sent]

            await asyncio.sleep(refused["retry_after"])  # the widget waits, then sends it again
            again = refused["client_id"]
            ack, *_ = await laptop.send({"type": "message", "client_id": again, "text": f"line {len(sent)}"})
            assert ack == {"type": "ack", "client_id": again}
            await asyncio.sleep(2.1)  # (every frame counts, a resend too)
            await tab.send({"type": "message", "client_id": again, "text": f"line {len(sent)}"})  # once more
            assert await stored_bodies(sessions, ticket_id) == ["how do I reset my password?", *sent,
                                                               f"line {len(sent)}"]
            async with sessions() as session:
                receipts = await session.scalar(select(func.count()).select_from(WidgetReceipt).where(
                    WidgetReceipt.client_id == again))
            assert receipts == 1


async def test_the_ip_limit_counts_every_visitor_of_the_address_and_answers_429(
        database_url: str, sessions, tmp_path: Path) -> None:
    async with limited_desk(database_url, tmp_path, widget_ip_burst=4, widget_ip_rate=0.5,
                            widget_connects_per_minute=3) as panel:
        _, key = await shop_widget(sessions)
        anna, boris = HttpVisitor(panel, key), HttpVisitor(panel, key, language="ru")
        try:
            await anna.open()
            await boris.open()
            await anna.start()
            await anna.say("hello")
            await boris.start()
            await boris.say("привет")
            status, headers, [error] = await boris.post({"type": "message", "client_id": "b-late", "text": "ещё"})
            assert status == 429 and int(headers["Retry-After"]) == error["retry_after"] >= 1
            assert error["code"] == "rate_limited" and error["client_id"] == "b-late"
            assert "несколько секунд" in error["text"]  # in the visitor's language
            status, _, _ = await anna.post({"type": "start", "client_id": "a-late"})
            assert status == 429  # the other visitor of the same address too
            async with sessions() as session:
                assert await session.scalar(select(func.count()).select_from(WidgetReceipt).where(
                    WidgetReceipt.client_id.in_(["b-late", "a-late"]))) == 0

            await asyncio.sleep(error["retry_after"])
            await boris.say("ещё", client_id="b-late")  # the resend after the wait is taken

            await anna.open()  # the third stream from this address this minute
            async with anna.client.get(panel.url("/widget/events"), params=anna.query(),
                                       headers=anna.headers()) as r:
                assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await anna.client.ws_connect(panel.url("/widget/ws"), params=anna.query(), headers=anna.headers())
            assert refused.value.status == 429
        finally:
            await anna.close()
            await boris.close()


async def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(database_url: str, sessions,
                                                                  tmp_path: Path) -> None:
    async with limited_desk(database_url, tmp_path, widget_ip_burst=2, widget_ip_rate=0.1,
                            trusted_proxies="127.0.0.1, 10.0.0.0/8") as panel:
        _, key = await shop_widget(sessions)
        anna = HttpVisitor(panel, key, forwarded_for="203.0.113.5")
        boris = HttpVisitor(panel, key, forwarded_for="198.51.100.1, 203.0.113.9, 10.1.2.3")  # via two proxies
        try:
            await anna.open()
            await boris.open()
            await anna.start()
            await anna.say("one")
            assert (await anna.post({"type": "start", "client_id": "a3"}))[0] == 429
            await boris.start()  # another address (the nearest untrusted hop), its own allowance
            await boris.say("two")
            boris.forwarded_for = "203.0.113.5, 203.0.113.9"  # a forged left end changes nothing
            assert (await boris.post({"type": "start", "client_id": "b3"}))[0] == 429
        finally:
            await anna.close()
            await boris.close()
    async with limited_desk(database_url, tmp_path / "plain", widget_ip_burst=2, widget_ip_rate=0.1) as panel:
        _, key = await shop_widget(sessions, "Another shop")
        anna = HttpVisitor(panel, key, forwarded_for="203.0.113.5")
        boris = HttpVisitor(panel, key, forwarded_for="198.51.100.1")
        try:
            await anna.open()
            await boris.open()
            await anna.start()
            await boris.start()
            assert (await anna.post({"type": "start", "client_id": "a9"}))[0] == 429  # no proxy trusted: one peer
        finally:
            await anna.close()
            await boris.close()


async def test_an_upload_counts_against_the_visitor_limit(database_url: str, sessions, tmp_path: Path) -> None:
    async with limited_desk(database_url, tmp_path, widget_visitor_burst=1, widget_visitor_rate=0.1) as panel:
        _, key = await shop_widget(sessions)
        async with visiting(panel, key) as anna:
            await anna.connect()
            await anna.start()
            form = aiohttp.FormData()
            form.add_field("client_id", "file-1")
            form.add_field("file", b"hello", filename="a.txt", content_type="text/plain")
            async with anna.client.post(panel.url("/widget/files"), params=anna.query(), data=form,
                                        headers={"Origin": SHOP}) as r:
                assert r.status == 429 and r.headers["Retry-After"]
                assert r.headers["Access-Control-Allow-Origin"] == SHOP
                assert (await r.json())["code"] == "rate_limited"
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_a_stream_on_one_process_hears_a_conversation_posted_to_another(
        desk_panel: Panel, database_url: str, sessions, tmp_path: Path) -> None:
    async with limited_desk(database_url, tmp_path / "second") as second:
        _, key = await shop_widget(sessions)
        desk_panel.app[WIDGET].heartbeat = 0.2
        listening = HttpVisitor(desk_panel, key)  # the stream here...
        posting = HttpVisitor(second, key)  # ...the POSTs through another web process behind the balancer
        try:
            await listening.open()
            posting.token = listening.token
            ticket_id = await hand_off(posting)
            await operator_replies(second, sessions, ticket_id, "Answered from anywhere")
            assert listening.stream is not None
            got = await listening.stream.until(lambda f: f.get("body") == "Answered from anywhere")
            assert [f["body"] for f in got if f.get("type") == "message"][-1] == "Answered from anywhere"
        finally:
            await listening.close()
            await posting.close()
