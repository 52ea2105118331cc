"""The website chat widget's server side through its real interfaces: the visitor's WebSocket and
file endpoints of the production app, the panel's HTTP API for the operator, the outbox worker with
the web adapter's deliver, and PostgreSQL. A visitor's message is never lost or doubled: frames are
acknowledged after the commit, a resent frame gets its first answers back, an offline visitor reads
what they missed at the next connect."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.kb.transfer import import_articles, read_articles
from core.models import ContactIdentity, Message, Ticket, TicketRating
from core.orders import stores
from core.outbox import OutboxWorker
from core.services.conversations import record_delivery
from core.services.widgets import configure_widget
from tests.web.harness import Panel, drain, eventually, receive_until, start_panel
from tests.web.test_ticket_api import signed_in
from web.widget import tokens

KB_SEED = Path(__file__).resolve().parents[1] / "bot" / "kb_seed.json"
SHOP = "http://shop.test:8001"
MAX_BYTES = 64 * 1024


@pytest.fixture
async def desk_panel(database_url: str, sessions: async_sessionmaker[AsyncSession],
                     tmp_path: Path) -> AsyncIterator[Panel]:
    running = await start_panel(database_url, tmp_path, settings_overrides={
        "widget_enabled": True, "attachment_max_bytes": MAX_BYTES})
    async with running.desk.sessions() as session, session.begin():
        await import_articles(session, read_articles(KB_SEED))
    yield running
    await running.close()


async def shop_widget(sessions: async_sessionmaker[AsyncSession], name: str = "Corner shop",
                      origins: tuple[str, ...] = (SHOP,)) -> tuple[int, str]:
    async with sessions() as session, session.begin():
        store = await stores.create_store(session, name=name)
        widget = await configure_widget(session, store.id, list(origins))
        return store.id, widget.key


_ids = itertools.count(1)


@dataclass
class Visitor:
    """A shop page's widget: keeps its token and what it has, like widget.js does in localStorage."""

    panel: Panel
    key: str
    language: str = "en"
    origin: str = SHOP
    token: str = ""
    after: int = 0
    ws: Any = None
    client: aiohttp.ClientSession = field(default_factory=aiohttp.ClientSession)

    def query(self, **extra: Any) -> dict[str, str]:
        return {"key": self.key, "token": self.token, "lang": self.language, **{k: str(v) for k, v in extra.items()}}

    async def connect(self) -> list[dict[str, Any]]:
        """Open the socket; the hello and what the desk sends at once (what the visitor missed)."""
        self.ws = await self.client.ws_connect(self.panel.url("/widget/ws"), params=self.query(after=self.after),
                                               headers={"Origin": self.origin})
        hello = await self.ws.receive_json()
        assert hello["type"] == "hello"
        self.token = hello["token"]
        frames = [hello, *await drain(self.ws, 0.5)]
        self.note(frames)
        return frames

    def note(self, frames: list[dict[str, Any]]) -> None:
        self.after = max([self.after, *(f["id"] for f in frames if f.get("type") == "message")])

    async def send(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a frame and read until its ack; the ack and the answers after it."""
        await self.ws.send_json(frame)
        frames = await receive_until(self.ws, lambda f: f.get("type") == "ack" and f["client_id"] == frame["client_id"])
        frames += await drain(self.ws, 0.3)
        self.note(frames)
        return frames[[f.get("type") for f in frames].index("ack"):]

    async def start(self) -> list[dict[str, Any]]:
        return await self.send({"type": "start", "client_id": f"s{next(_ids)}"})

    async def say(self, text: str, client_id: str | None = None) -> list[dict[str, Any]]:
        return await self.send({"type": "message", "client_id": client_id or f"m{next(_ids)}", "text": text})

    async def press(self, button: dict[str, Any]) -> list[dict[str, Any]]:
        return await self.send({"type": "action", "client_id": f"a{next(_ids)}", "action": button["action"]})

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.client.close()


@contextlib.asynccontextmanager
async def visiting(panel: Panel, key: str, cls: type[Visitor] | None = None, **options: Any) -> AsyncIterator[Visitor]:
    visitor = (cls or Visitor)(panel, key, **options)
    try:
        yield visitor
    finally:
        await visitor.close()


def answers(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("type") == "answer"]


def button(frames: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return next(b for f in frames for row in f.get("buttons", ()) for b in row if label in b["label"])


def worker_of(panel: Panel) -> OutboxWorker:
    return OutboxWorker(panel.desk.sessions, panel.desk.channels.deliverers(), on_outcome=[record_delivery])


async def hand_off(visitor: Visitor, question: str = "how do I reset my password?") -> int:
    """The visitor asks, the article does not help, they pick a topic: the new ticket's id."""
    await visitor.start()
    article = answers(await visitor.say(question))
    opened = answers(await visitor.press(button(await visitor.press(button(article, "Talk to a human")),
                                                "Technical support")))
    _, ticket_id = button(opened, "Close the ticket")["action"]
    return int(ticket_id)


async def ticket_bodies(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.execute(select(Message.author_kind, Message.body).where(Message.ticket_id == ticket_id)
                                     .order_by(Message.id))
        return [(kind, body) for kind, body in rows.all()]


# -- the conversation ---------------------------------------------------------------------------------

async def test_a_visitor_is_greeted_answered_handed_off_answered_live_and_rates(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        hello, *missed = await anna.connect()
        assert tokens.VISITOR_RE.match(hello["visitor"]) and hello["files"]["max_bytes"] == MAX_BYTES
        assert missed == []
        ack, greeting = await anna.start()
        assert ack["type"] == "ack" and greeting["text"].startswith("Hello,")
        assert "👤 Talk to a human" in [b["label"] for row in greeting["buttons"] for b in row]

        [article] = answers(await anna.say("how do I reset my password?"))
        assert article["article"]["title"] == "How to reset your password"
        _, topics = answers(await anna.press(button([article], "Talk to a human")))
        assert len(topics["buttons"]) == 4
        opened = answers(await anna.press(button([topics], "Technical support")))
        assert "is open" in opened[-1]["text"]
        ticket_id = int(button(opened, "Close the ticket")["action"][1])

        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        async with operator.get(desk_panel.url(f"/api/tickets/{ticket_id}")) as r:
            detail = await r.json()
        assert detail["channel"] == "web" and detail["channel_capabilities"]["served"] is True
        assert await ticket_bodies(sessions, ticket_id) == [
            ("customer", "how do I reset my password?"),
            ("bot", "Answered with the article «How to reset your password»"),
            ("bot", "The article «How to reset your password» did not help"),
        ]

        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"),
                                 json={"body": "Check your <b>spam</b> folder"}, headers=csrf) as r:
            assert r.status == 201
        assert await worker_of(desk_panel).run_once() == 1
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "message" and f["author"] == "operator")
        own, reply = frames[0], frames[-1]  # the visitor's own message comes too, with its client id to dedupe by
        assert own["author"] == "customer" and own["client_id"] and len(frames) == 2
        assert reply["body"] == "Check your <b>spam</b> folder" and reply["ticket_id"] == ticket_id

        assert answers(await anna.say("found it, thanks")) == []  # into the live ticket
        async with operator.patch(desk_panel.url(f"/api/tickets/{ticket_id}"), json={"status": "closed"},
                                  headers=csrf) as r:
            assert r.status == 200
        assert await worker_of(desk_panel).run_once() == 1
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "closed")
        closed = frames[-1]
        assert f"#{ticket_id} is closed" in closed["text"] and closed["ticket_id"] == ticket_id
        assert [b["action"] for b in closed["buttons"][0]] == [["rate", ticket_id, n] for n in range(1, 6)]
        _, ask = answers(await anna.press(closed["buttons"][0][3]))
        assert "4/5" in ask["text"]
        [thanks] = answers(await anna.say("quick and kind"))
        assert thanks["text"] == "Thank you for the feedback!"

    async with sessions() as session:
        rating = await session.get(TicketRating, ticket_id)
        assert rating is not None and (rating.score, rating.comment) == (4, "quick and kind")
        identity = await session.scalar(select(ContactIdentity).where(ContactIdentity.channel == "web"))
        assert identity is not None and identity.external_id == hello["visitor"]
        assert (await session.get(Ticket, ticket_id)).identity_id == identity.id  # type: ignore[union-attr]
    async with operator.get(desk_panel.url(f"/api/tickets/{ticket_id}/messages")) as r:
        items = (await r.json())["items"]
    assert next(m for m in items if m["author_kind"] == "operator")["delivery_state"] == "sent"


async def test_a_russian_visitor_reads_russian(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key, language="ru") as ivan:
        await ivan.connect()
        _, greeting = await ivan.start()
        assert greeting["text"].startswith("Здравствуйте") or "Привет" in greeting["text"]
        await ivan.ws.send_str("{not json")
        [error] = await receive_until(ivan.ws, lambda f: f.get("type") == "error")
        assert error["code"] == "bad_frame" and "сообщение" in error["text"]


# -- nothing lost, nothing doubled --------------------------------------------------------------------

async def test_messages_resent_after_a_drop_are_stored_once_and_answered_the_same(desk_panel: Panel,
                                                                                    sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        await anna.say("first", client_id="c1")
        # Sent and dropped before any ack was read: the widget does not know whether the desk has it.
        await anna.ws.send_json({"type": "message", "client_id": "c2", "text": "second"})
        await anna.ws.send_json({"type": "message", "client_id": "c3", "text": "third"})
        await anna.ws.close()

        await anna.connect()  # the widget resends everything not acknowledged, c1 again by mistake too
        for client_id, text in (("c1", "first"), ("c2", "second"), ("c3", "third")):
            ack, *rest = await anna.say(text, client_id=client_id)
            assert ack["type"] == "ack" and answers(rest) == []
        await anna.say("fourth", client_id="c4")

    bodies = [body for kind, body in await ticket_bodies(sessions, ticket_id) if kind == "customer"]
    assert bodies == ["how do I reset my password?", "first", "second", "third", "fourth"]


async def test_a_question_resent_before_any_ticket_is_answered_once(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        await anna.start()
        first = await anna.say("how do I reset my password?", client_id="q1")
        await anna.ws.close()
        await anna.connect()
        again = await anna.say("how do I reset my password?", client_id="q1")
        assert again == first
        _, topics = answers(await anna.press(button(answers(first), "Talk to a human")))
        opened = answers(await anna.press(button([topics], "Billing")))
        ticket_id = int(button(opened, "Close the ticket")["action"][1])
    assert [body for kind, body in await ticket_bodies(sessions, ticket_id) if kind == "customer"] == [
        "how do I reset my password?"]


async def test_an_offline_visitor_gets_the_reply_at_the_next_connect(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        await anna.ws.close()

        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        for body in ("We are on it", "Done: try again"):
            async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": body},
                                     headers=csrf) as r:
                assert r.status == 201
        worker = worker_of(desk_panel)
        assert await worker.run_once() + await worker.run_once() == 2  # nobody online: delivered all the same
        async with operator.get(desk_panel.url(f"/api/tickets/{ticket_id}/messages")) as r:
            states = {m["body"]: m["delivery_state"] for m in (await r.json())["items"]}
        assert states["We are on it"] == states["Done: try again"] == "sent"

        frames = [f for f in await anna.connect() if f["type"] == "message"]
        assert [(f["author"], f["body"]) for f in frames] == [
            ("customer", "how do I reset my password?"),  # their own, with the client id the widget dedupes by
            ("operator", "We are on it"), ("operator", "Done: try again")]
        assert frames[0]["client_id"] and frames[1]["client_id"] is None
        assert [f for f in await anna.connect() if f["type"] == "message"] == []  # nothing twice


async def test_another_tab_of_the_same_visitor_sees_operator_replies_too(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as tab1, visiting(desk_panel, key) as tab2:
        await tab1.connect()
        ticket_id = await hand_off(tab1)
        tab2.token, tab2.after = tab1.token, tab1.after
        await tab2.connect()
        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "Hi both"},
                                 headers=csrf) as r:
            assert r.status == 201
        await worker_of(desk_panel).run_once()
        for tab in (tab1, tab2):
            frames = await receive_until(tab.ws, lambda f: f.get("type") == "message" and f["author"] == "operator")
            assert frames[-1]["body"] == "Hi both"


# -- refusals -------------------------------------------------------------------------------------------

async def handshake_status(panel: Panel, params: dict[str, str], origin: str | None = SHOP) -> int:
    async with aiohttp.ClientSession() as client:
        headers = {"Origin": origin} if origin else {}
        try:
            ws = await client.ws_connect(panel.url("/widget/ws"), params=params, headers=headers)
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status
        await ws.close()
        return 101


async def test_foreign_origins_forged_and_other_stores_tokens_are_refused(desk_panel: Panel, sessions) -> None:
    store_id, key = await shop_widget(sessions)
    other_id, other_key = await shop_widget(sessions, "Other shop", origins=("https://other.example",))
    secret = desk_panel.desk.settings.secret_key.get_secret_value()
    _, good = tokens.issue(secret, store_id)
    assert await handshake_status(desk_panel, {"key": key, "token": good}) == 101
    assert await handshake_status(desk_panel, {"key": key, "token": good}, origin="https://evil.example") == 403
    assert await handshake_status(desk_panel, {"key": key, "token": good}, origin=None) == 403
    assert await handshake_status(desk_panel, {"key": "wk_nope", "token": good}) == 404
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert await handshake_status(desk_panel, {"key": key, "token": forged}) == 401
    _, foreign = tokens.issue(secret, other_id)
    assert await handshake_status(desk_panel, {"key": key, "token": foreign}) == 401
    assert await handshake_status(desk_panel, {"key": other_key, "token": foreign},
                                  origin="https://other.example") == 101
    _, wrong_secret = tokens.issue("another desk's secret", store_id)
    assert await handshake_status(desk_panel, {"key": key, "token": wrong_secret}) == 401


async def test_bad_frames_get_an_error_frame_and_the_socket_goes_on(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        for bad in ('{"type": "message", "client_id": "x", "text": "hi", "admin": true}', '[1, 2]',
                    '{"type": "launch"}', '{"type": "message", "client_id": "bad id!", "text": "hi"}',
                    '{"type": "message", "client_id": "x", "text": "' + "a" * 4001 + '"}',
                    '{"type": "action", "client_id": "x", "action": []}'):
            await anna.ws.send_str(bad)
            [error] = await receive_until(anna.ws, lambda f: f.get("type") == "error")
            assert error["code"] == "bad_frame" and "could not read" in error["text"]
        await anna.ws.send_bytes(b"\x00\x01")
        assert (await receive_until(anna.ws, lambda f: f.get("type") == "error"))[-1]["code"] == "bad_frame"
        _, greeting = await anna.start()  # still talking
        assert greeting["text"].startswith("Hello,")
        await anna.ws.send_str('{"type": "message", "client_id": "big", "text": "' + "a" * 17000 + '"}')
        closing = await anna.ws.receive()
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


async def test_a_visitor_sending_too_fast_is_slowed_down(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        await anna.start()
        for n in range(30):
            await anna.ws.send_json({"type": "action", "client_id": f"f{n}", "action": ["menu.ask"]})
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "error", timeout=10)
        assert frames[-1]["code"] == "too_fast" and frames[-1]["client_id"].startswith("f")


async def test_a_button_of_another_visitor_ticket_changes_nothing(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna, visiting(desk_panel, key) as eve:
        await anna.connect()
        ticket_id = await hand_off(anna)
        await eve.connect()
        await eve.start()
        [ack] = answers(await eve.press({"action": ["close", ticket_id]}))
        assert ack["alert"] and "already closed" in ack["text"]
        assert answers(await eve.press({"action": ["rate", ticket_id, 1]}))[0]["alert"]
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status != "closed"
        assert await session.get(TicketRating, ticket_id) is None


# -- files ----------------------------------------------------------------------------------------------

async def upload(visitor: Visitor, name: str, data: bytes, content_type: str, client_id: str,
                 text: str = "") -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("client_id", client_id)
    form.add_field("text", text)
    form.add_field("file", data, filename=name, content_type=content_type)
    async with visitor.client.post(visitor.panel.url("/widget/files"), params=visitor.query(), data=form,
                                   headers={"Origin": visitor.origin}) as r:
        assert r.headers.get("Access-Control-Allow-Origin") == visitor.origin
        return r.status, await r.json()


async def test_visitor_files_within_limits_reach_the_ticket_and_only_their_owner(desk_panel: Panel,
                                                                               sessions) -> None:
    _, key = await shop_widget(sessions)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    async with visiting(desk_panel, key) as anna, visiting(desk_panel, key) as eve:
        await anna.connect()
        ticket_id = await hand_off(anna)
        status, body = await upload(anna, "receipt.png", png, "image/png", "f1", "my receipt")
        assert status == 200 and body["client_id"] == "f1"
        assert (await upload(anna, "receipt.png", png, "image/png", "f1", "my receipt")) == (status, body)  # resent
        status, refused = await upload(anna, "big.pdf", b"x" * (MAX_BYTES + 1), "application/pdf", "f2")
        assert status == 413 and refused["code"] == "too_large"
        status, refused = await upload(anna, "run.exe", b"MZ", "application/octet-stream", "f3")
        assert status == 415 and refused["code"] == "bad_type"
        status, _ = await upload(anna, "a.png", png, "image/png", "bad id!")
        assert status == 422
        async with anna.client.post(desk_panel.url("/widget/files"), params=anna.query(), json={"file": "x"},
                                    headers={"Origin": SHOP}) as r:
            assert r.status == 422 and (await r.json())["code"] == "bad_frame"

        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        async with operator.get(desk_panel.url(f"/api/tickets/{ticket_id}/messages")) as r:
            items = (await r.json())["items"]
        [with_file] = [m for m in items if m["author_kind"] == "customer" and m.get("attachments")]
        assert with_file["body"] == "my receipt" and with_file["attachments"][0]["file_name"] == "receipt.png"

        form = aiohttp.FormData()
        form.add_field("body", "Here is your invoice")
        form.add_field("files", b"%PDF-1.4 invoice", filename="invoice.pdf", content_type="application/pdf")
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"), data=form, headers=csrf) as r:
            assert r.status == 201, await r.text()
        await worker_of(desk_panel).run_once()
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "message" and f["author"] == "operator")
        [invoice] = frames[-1]["files"]
        assert invoice["name"] == "invoice.pdf"

        url = desk_panel.url(f"/widget/files/{invoice['id']}")
        async with anna.client.get(url, params=anna.query()) as r:
            assert r.status == 200 and await r.read() == b"%PDF-1.4 invoice"
            assert r.headers["Content-Disposition"].startswith("attachment")
        await eve.connect()
        async with eve.client.get(url, params=eve.query()) as r:
            assert r.status == 404  # another visitor: as if it did not exist
        async with eve.client.get(url, params={**anna.query(), "token": anna.token[:-2] + "xx"}) as r:
            assert r.status == 401


# -- the store's widget in the panel --------------------------------------------------------------------

async def test_admins_set_the_sites_of_a_store_widget_and_renew_its_key(desk_panel: Panel, sessions) -> None:
    store_id, key = await shop_widget(sessions, origins=())
    admin_client, csrf = await signed_in(desk_panel, sessions, "root@example.com", role="admin")
    async with admin_client.get(desk_panel.url(f"/api/stores/{store_id}/widget")) as r:
        widget = await r.json()
    assert widget["key"] == key and widget["origins"] == [] and widget["enabled"] is True
    assert f'data-key="{key}"' in widget["snippet"] and "/widget.js" in widget["snippet"]
    assert await handshake_status(desk_panel, {"key": key}) == 403  # no site may embed it yet

    async with admin_client.put(desk_panel.url(f"/api/stores/{store_id}/widget"),
                                json={"origins": ["HTTP://Shop.test:8001/", SHOP]}, headers=csrf) as r:
        assert (await r.json())["origins"] == [SHOP]
    assert await handshake_status(desk_panel, {"key": key}) == 101
    async with admin_client.put(desk_panel.url(f"/api/stores/{store_id}/widget"),
                                json={"origins": ["javascript:alert(1)"]}, headers=csrf) as r:
        assert r.status == 422
    async with admin_client.put(desk_panel.url(f"/api/stores/{store_id}/widget"),
                                json={"origins": [SHOP], "renew_key": True}, headers=csrf) as r:
        renewed = (await r.json())["key"]
    assert renewed != key and await handshake_status(desk_panel, {"key": key}) == 404
    operator, _ = await signed_in(desk_panel, sessions, "olga@example.com")
    async with operator.get(desk_panel.url(f"/api/stores/{store_id}/widget")) as r:
        assert r.status == 403


async def test_the_script_is_served_to_any_page(desk_panel: Panel) -> None:
    async with aiohttp.ClientSession() as client, client.get(desk_panel.url("/widget.js")) as r:
        assert r.status == 200 and r.content_type == "application/javascript"
        assert "attachShadow" in await r.text()


async def test_without_widget_enabled_nothing_is_served(database_url: str, sessions, tmp_path: Path) -> None:
    panel = await start_panel(database_url, tmp_path, settings_overrides={"widget_enabled": False})
    try:
        _, key = await shop_widget(sessions)
        assert await handshake_status(panel, {"key": key}) == 404
    finally:
        await panel.close()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ContactIdentity)) == 0
    await asyncio.sleep(0)


async def test_an_operator_typing_in_the_panel_shows_in_the_widget(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        operator, _ = await signed_in(desk_panel, sessions, "olga@example.com")
        panel_ws = await operator.ws_connect(desk_panel.url("/ws"), headers={"Origin": desk_panel.origin})
        assert (await panel_ws.receive_json())["type"] == "hello"
        await panel_ws.send_json({"type": "typing", "ticket_id": ticket_id})
        await eventually(lambda: worker_of(desk_panel).run_once())
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "typing")
        assert frames[-1] == {"type": "typing"}
        await panel_ws.close()
