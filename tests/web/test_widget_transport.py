# ruff: noqa: F811  (the fixtures imported from the first widget tests are parameters here)
"""The widget's resync through its real socket: the conversation state (open/closed, the assignee) comes
with every (re)connect and delivery, everything after the widget's last message comes at a reconnect
however much it is, and a message over 4,000 characters is refused by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.models import Contact, ContactIdentity, Operator, Site
from tests.web.harness import Panel, eventually, receive_until
from tests.web.test_ticket_api import signed_in
from tests.web.test_widget import (  # noqa: F401
    SHOP,
    Visitor,
    desk_panel,
    hand_off,
    handshake_status,
    shop_widget,
    visiting,
    worker_of,
)
from web.widget import adapter, tokens


def states(frames: list[dict]) -> list[dict]:
    return [f for f in frames if f.get("type") == "state"]


async def test_a_conversation_closed_while_the_visitor_was_away_comes_back_closed(desk_panel: Panel,
                                                                                  sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        await anna.ws.close()
        [state] = states(await anna.connect())  # a reconnect says where the conversation stands
        assert state == {"type": "state", "status": "open", "ticket_id": ticket_id, "assignee": None}
        await anna.ws.close()

        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        async with sessions() as session:
            olga = await session.scalar(select(Operator).where(Operator.email == "olga@example.com"))
        assert olga is not None
        async with operator.patch(desk_panel.url(f"/api/tickets/{ticket_id}"), json={"assignee_id": olga.id},
                                  headers=csrf) as r:
            assert r.status == 200
        [state] = states(await anna.connect())
        assert state["status"] == "open" and state["assignee"] == olga.display_name == "Olga"
        await anna.ws.close()

        async with operator.patch(desk_panel.url(f"/api/tickets/{ticket_id}"), json={"status": "closed"},
                                  headers=csrf) as r:
            assert r.status == 200
        await worker_of(desk_panel).run_once()  # delivered to nobody: the visitor is away
        frames = await anna.connect()
        kinds = [f["type"] for f in frames]
        assert kinds.count("closed") == 1 and kinds.count("state") == 1
        assert kinds.index("closed") < kinds.index("state")  # the notice is drawn before the reply box goes
        assert states(frames)[0]["status"] == "closed"


async def test_a_live_socket_hears_the_close_and_the_state_only_when_it_changes(desk_panel: Panel,
                                                                              sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "On it"},
                                 headers=csrf) as r:
            assert r.status == 201
        await worker_of(desk_panel).run_once()
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "state")
        assert frames[-1]["status"] == "open" and [f["body"] for f in frames if f["type"] == "message"][-1] == "On it"
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "Still on it"},
                                 headers=csrf) as r:
            assert r.status == 201
        await worker_of(desk_panel).run_once()
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "message" and f["body"] == "Still on it")
        async with operator.patch(desk_panel.url(f"/api/tickets/{ticket_id}"), json={"status": "closed"},
                                  headers=csrf) as r:
            assert r.status == 200
        await worker_of(desk_panel).run_once()
        frames += await receive_until(anna.ws, lambda f: f.get("type") == "state")
        assert [f["status"] for f in states(frames)] == ["closed"]  # unchanged "open" was not sent again


async def test_a_reconnect_resyncs_everything_after_the_last_message_not_only_recent_ones(desk_panel: Panel,
                                                                                          sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        await anna.ws.close()
        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        count = adapter.HISTORY_LIMIT + 15  # more than one read's worth
        for n in range(count):
            async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"),
                                     json={"body": f"reply {n}"}, headers=csrf) as r:
                assert r.status == 201
        frames = await anna.connect()
        if not any(f.get("body") == f"reply {count - 1}" for f in frames):
            frames += await receive_until(anna.ws, lambda f: f.get("body") == f"reply {count - 1}")
        bodies = [f["body"] for f in frames if f.get("type") == "message" and f["author"] == "operator"]
        assert bodies == [f"reply {n}" for n in range(count)]


async def test_a_message_over_4000_characters_is_refused_by_name(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key, language="ru") as ivan:
        await ivan.connect()
        await ivan.start()
        await ivan.ws.send_json({"type": "message", "client_id": "long1", "text": "a" * 4001})
        [error] = await receive_until(ivan.ws, lambda f: f.get("type") == "error")
        assert error["code"] == "bad_frame" and error["reason"] == "too_long" and error["max"] == 4000
        assert error["client_id"] == "long1" and error["retry"] is False and "4 000" in error["text"]
        ack, *_ = await ivan.say("a" * 4000, client_id="long2")  # exactly the limit is taken
        assert ack == {"type": "ack", "client_id": "long2"}


# -- where the visitor is ---------------------------------------------------------------------------

VISIT = {"url": "https://shop.example/cart?step=2", "title": "Your cart <b>", "referrer": "https://search.example/?q=x",
         "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120", "language": "de-DE",
         "time_zone": "Europe/Berlin", "local_time": "2026-12-07T01:40:00+01:00"}


async def identity_visit(sessions, visitor: str) -> dict | None:
    async with sessions() as session:
        return await session.scalar(select(ContactIdentity.visit).where(ContactIdentity.channel == "web",
                                                                         ContactIdentity.external_id == visitor))


async def test_the_widget_hello_tells_the_operator_where_the_visitor_is(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        [hello, *_] = await anna.connect()
        await anna.ws.send_json({"type": "hello", "visit": VISIT})  # before any identity: kept for the first frame
        ticket_id = await hand_off(anna)
        visit = await identity_visit(sessions, hello["visitor"])
        assert visit is not None and {k: visit[k] for k in VISIT} == VISIT and visit["at"]

        await anna.ws.close()
        await anna.connect()
        await anna.ws.send_json({"type": "hello", "visit": {**VISIT, "url": "https://shop.example/thanks",
                                                            "referrer": ""}})
        await eventually(lambda: _visit_is(sessions, hello["visitor"], "https://shop.example/thanks"))

        operator, _ = await signed_in(desk_panel, sessions, "olga@example.com")
        async with operator.get(desk_panel.url(f"/api/tickets/{ticket_id}")) as r:
            contact_id = (await r.json())["contact_id"]
        async with operator.get(desk_panel.url(f"/api/contacts/{contact_id}")) as r:
            [identity] = (await r.json())["identities"]
        assert identity["visit"]["url"] == "https://shop.example/thanks"
        assert identity["visit"]["title"] == "Your cart <b>"


async def _visit_is(sessions, visitor: str, url: str) -> bool:
    visit = await identity_visit(sessions, visitor)
    return visit is not None and visit["url"] == url


async def test_a_hello_with_a_bad_visit_is_refused_and_stores_nothing(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        [hello, *_] = await anna.connect()
        await anna.start()
        for bad in ({**VISIT, "url": "javascript:alert(1)"}, {**VISIT, "title": "t" * 301},
                    {**VISIT, "time_zone": "Europe/Berlin<script>"}, {**VISIT, "cookie": "x"}):
            await anna.ws.send_json({"type": "hello", "visit": bad})
            [error] = await receive_until(anna.ws, lambda f: f.get("type") == "error")
            assert error["code"] == "bad_frame"
        assert await identity_visit(sessions, hello["visitor"]) is None


# -- a shop's signed-in user ----------------------------------------------------------------------------

@dataclass
class ShopUser(Visitor):
    """A widget on a page where the shop's user is signed in: the id and its signature go with every request."""

    user: str = ""
    user_hash: str = ""

    def query(self, **extra: Any) -> dict[str, str]:
        return {**super().query(**extra), "user": self.user, "user_hash": self.user_hash}


async def widget_secret(sessions, store_id: int) -> str:
    async with sessions() as session:
        widget = await session.scalar(select(Site).where(Site.store_id == store_id))
        assert widget is not None
        return widget.secret


async def test_a_signed_in_shop_user_has_one_history_on_every_device(desk_panel: Panel, sessions) -> None:
    store_id, key = await shop_widget(sessions)
    secret = await widget_secret(sessions, store_id)
    signed = {"user": "u-1001", "user_hash": tokens.user_hash(secret, "u-1001")}
    laptop, phone = ShopUser(desk_panel, key, **signed), ShopUser(desk_panel, key, **signed)
    try:
        [hello, *_] = await laptop.connect()
        assert hello["visitor"] == f"store:{store_id}:user:u-1001" and hello["verified"] is True
        assert tokens.verify(desk_panel.desk.settings.secret_key.get_secret_value(), hello["token"], store_id)
        ticket_id = await hand_off(laptop)
        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "Hi Anna"},
                                 headers=csrf) as r:
            assert r.status == 201
        await worker_of(desk_panel).run_once()

        frames = await phone.connect()  # another device, another anonymous token: the same person
        assert phone.token != laptop.token
        assert [(f["author"], f["body"]) for f in frames if f["type"] == "message"] == [
            ("customer", "how do I reset my password?"), ("operator", "Hi Anna")]
        async with sessions() as session:
            identity = await session.scalar(select(ContactIdentity).where(ContactIdentity.channel == "web"))
            assert identity is not None and identity.external_id == f"store:{store_id}:user:u-1001"
            assert (await session.get(Contact, identity.contact_id)).name == "Shop user u-1001"  # type: ignore[union-attr]
    finally:
        await laptop.close()
        await phone.close()


async def test_a_forged_signature_is_refused_and_an_unsigned_claim_ignored(desk_panel: Panel, sessions) -> None:
    store_id, key = await shop_widget(sessions)
    _, other_key = await shop_widget(sessions, "Other shop")
    secret = await widget_secret(sessions, store_id)
    good = tokens.user_hash(secret, "u-7")
    assert await handshake_status(desk_panel, {"key": key, "user": "u-7", "user_hash": good}) == 101
    assert await handshake_status(desk_panel, {"key": key, "user": "u-7", "user_hash": good.upper()}) == 101
    for user, signature in (("u-8", good), ("u-7", good[:-1] + "0"), ("u-7", "nope"),
                            ("u 7", tokens.user_hash(secret, "u 7")), ("u-7", tokens.user_hash("guess", "u-7"))):
        assert await handshake_status(desk_panel, {"key": key, "user": user, "user_hash": signature}) == 401
    # another store's widget has another secret
    assert await handshake_status(desk_panel, {"key": other_key, "user": "u-7", "user_hash": good}) == 401
    async with visiting(desk_panel, key) as anna:  # a claim with no signature: still the anonymous visitor
        anna.key = key
        anna.ws = await anna.client.ws_connect(desk_panel.url("/widget/ws"), params={**anna.query(), "user": "u-7"},
                                               headers={"Origin": SHOP})
        hello = await anna.ws.receive_json()
        assert tokens.VISITOR_RE.match(hello["visitor"]) and hello["verified"] is False


async def test_admins_read_and_renew_the_widget_secret(desk_panel: Panel, sessions) -> None:
    store_id, key = await shop_widget(sessions)
    admin, csrf = await signed_in(desk_panel, sessions, "root@example.com", role="admin")
    async with admin.get(desk_panel.url(f"/api/stores/{store_id}/widget")) as r:
        first = (await r.json())["secret"]
    assert first == await widget_secret(sessions, store_id) and first.startswith("ws_") and len(first) > 40
    old_hash = tokens.user_hash(first, "u-1")
    async with admin.put(desk_panel.url(f"/api/stores/{store_id}/widget"),
                         json={"origins": [SHOP], "renew_secret": True}, headers=csrf) as r:
        renewed = await r.json()
    assert renewed["secret"] != first and renewed["key"] == key
    assert await handshake_status(desk_panel, {"key": key, "user": "u-1", "user_hash": old_hash}) == 401
    assert await handshake_status(desk_panel, {"key": key, "user": "u-1",
                                               "user_hash": tokens.user_hash(renewed["secret"], "u-1")}) == 101
    operator, _ = await signed_in(desk_panel, sessions, "olga@example.com")
    async with operator.get(desk_panel.url(f"/api/stores/{store_id}/widget")) as r:
        assert r.status == 403  # operators never see it


async def test_the_site_greeting_colour_and_hours_reach_the_widget(desk_panel: Panel, sessions) -> None:
    store_id, key = await shop_widget(sessions)
    admin, csrf = await signed_in(desk_panel, sessions, "root@example.com", role="admin")
    look = {"greeting": "Hi! We answer <i>fast</i>", "color": "#0F766E", "hours": "Mon–Fri 9:00–18:00"}
    async with admin.put(desk_panel.url(f"/api/stores/{store_id}/widget"), json={"origins": [SHOP], **look},
                         headers=csrf) as r:
        saved = await r.json()
    assert (saved["greeting"], saved["color"], saved["hours"]) == (look["greeting"], "#0f766e", look["hours"])
    async with visiting(desk_panel, key) as anna:
        [hello, *_] = await anna.connect()
    assert hello["site"] == {**look, "color": "#0f766e"}
    async with admin.put(desk_panel.url(f"/api/stores/{store_id}/widget"), json={"origins": [SHOP]},
                         headers=csrf) as r:
        assert (await r.json())["greeting"] == look["greeting"]  # not given: left as it was
    for bad in ({"color": "red"}, {"color": "#12345"}, {"greeting": "x" * 501}, {"hours": "x" * 201}):
        async with admin.put(desk_panel.url(f"/api/stores/{store_id}/widget"), json={"origins": [SHOP], **bad},
                             headers=csrf) as r:
            assert r.status == 422, bad
