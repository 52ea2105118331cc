"""The widget's live details through the real sockets: the visitor typing reaches the operators who may
see the ticket (and no partner), the operators' read mark reaches the widget (live and after a
reconnect), an assignment reaches an open widget with no delivery behind it, and a new hello's page
reaches the ticket view's card; an image is served for the widget to show inline."""

from __future__ import annotations

import aiohttp
from sqlalchemy import func, select

from core.models import Message, Operator
from tests.images import png
from tests.web import test_widget
from tests.web.harness import Panel, drain, eventually, receive_until
from tests.web.test_ticket_api import signed_in
from tests.web.test_widget import SHOP, hand_off, shop_widget, visiting, worker_of

desk_panel = test_widget.desk_panel  # the fixture: a panel app with the widget on

VISIT = {"url": "https://shop.example/cart", "title": "Your cart", "referrer": "", "user_agent": "Firefox",
         "language": "en-GB", "time_zone": "Europe/London", "local_time": "2026-01-05T10:00:00+00:00"}


async def panel_socket(panel: Panel, client: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    """An operator's /ws, live at once (resumed from its hello)."""
    ws = await client.ws_connect(panel.url("/ws"), headers={"Origin": panel.origin})
    hello = await ws.receive_json()
    await ws.send_json({"type": "resume", "after": hello["last_event_id"]})
    return ws


def of_type(frames: list[dict], kind: str) -> list[dict]:
    return [f for f in frames if f.get("type") == kind]


async def customer_message_ids(sessions, ticket_id: int) -> list[int]:
    async with sessions() as session:
        return list(await session.scalars(select(Message.id).where(
            Message.ticket_id == ticket_id, Message.author_kind == "customer").order_by(Message.id)))


async def test_the_visitor_typing_reaches_the_operators_of_the_ticket_and_no_partner(desk_panel: Panel,
                                                                                      sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as eve:
        await eve.connect()
        await eve.start()
        await eve.ws.send_json({"type": "typing"})  # before any ticket: nobody to tell, no error
        assert await drain(eve.ws, 0.3) == []
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        operator, _ = await signed_in(desk_panel, sessions, "olga@example.com")
        partner, _ = await signed_in(desk_panel, sessions, "shop@example.com", role="partner")
        ows, pws = await panel_socket(desk_panel, operator), await panel_socket(desk_panel, partner)
        async with sessions() as session:
            stored = await session.scalar(select(func.count(Message.id)))

        await anna.ws.send_json({"type": "typing"})
        frames = await receive_until(ows, lambda f: f.get("type") == "visitor.typing")
        assert frames[-1]["data"] == {"ticket_id": ticket_id}
        await anna.ws.send_json({"type": "typing"})  # within 3 s: the desk tells operators once
        assert of_type(await drain(ows, 0.6), "visitor.typing") == []
        assert of_type(await drain(pws, 0.3), "visitor.typing") == []  # partners see no tickets
        assert await drain(anna.ws, 0.2) == []  # a hint: no ack, no answer
        async with sessions() as session:
            assert await session.scalar(select(func.count(Message.id))) == stored

        # the HTTP fallback takes it too, answered with no frames (and still once per 3 s)
        async with anna.client.post(desk_panel.url("/widget/send"), params=anna.query(),
                                    data='{"type": "typing"}', headers={"Origin": SHOP}) as r:
            assert r.status == 200 and (await r.json()) == {"frames": []}
        await ows.close()
        await pws.close()


async def test_the_operators_read_mark_reaches_the_widget_live_and_after_a_reconnect(desk_panel: Panel,
                                                                                     sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        await anna.say("are you there?")
        assert of_type(await drain(anna.ws, 0.3), "read") == []
        last = (await customer_message_ids(sessions, ticket_id))[-1]

        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/read"), headers=csrf) as r:
            assert r.status == 200
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "read")
        assert frames[-1] == {"type": "read", "ticket_id": ticket_id, "message_id": last}
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/read"), headers=csrf) as r:
            assert r.status == 200  # nothing new read: nothing sent
        assert of_type(await drain(anna.ws, 0.5), "read") == []

        await anna.ws.close()
        frames = await anna.connect()
        assert of_type(frames, "read") == [{"type": "read", "ticket_id": ticket_id, "message_id": last}]

        await anna.say("one more thing")  # not read yet: the mark stays where it was
        async with sessions() as session:
            marked = await session.get(Message, last)
            assert marked is not None and marked.meta["read_at"]
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/read"), headers=csrf) as r:
            assert r.status == 200
        newest = (await customer_message_ids(sessions, ticket_id))[-1]
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "read")
        assert frames[-1]["message_id"] == newest > last


async def test_a_stranger_cannot_mark_a_ticket_read(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        partner, csrf = await signed_in(desk_panel, sessions, "shop@example.com", role="partner")
        async with partner.post(desk_panel.url(f"/api/tickets/{ticket_id}/read"), headers=csrf) as r:
            assert r.status == 404
        operator, _ = await signed_in(desk_panel, sessions, "olga@example.com")
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/read")) as r:
            assert r.status == 403  # no CSRF token
        assert of_type(await drain(anna.ws, 0.5), "read") == []


async def test_an_assignment_reaches_an_open_widget_at_once(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        await drain(anna.ws, 0.3)
        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        async with sessions() as session:
            olga = await session.scalar(select(Operator.id).where(Operator.email == "olga@example.com"))
        async with operator.patch(desk_panel.url(f"/api/tickets/{ticket_id}"), json={"assignee_id": olga},
                                  headers=csrf) as r:
            assert r.status == 200
        # no outbox worker runs: the ticket's own event wakes the socket
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "state")
        assert frames[-1] == {"type": "state", "status": "open", "ticket_id": ticket_id, "assignee": "Olga"}
        assert [f for f in of_type(frames, "message") if f["author"] == "operator"] == []  # no reply behind it
        async with operator.patch(desk_panel.url(f"/api/tickets/{ticket_id}"), json={"assignee_id": None},
                                  headers=csrf) as r:
            assert r.status == 200
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "state")
        assert frames[-1]["assignee"] is None
        async with operator.patch(desk_panel.url(f"/api/tickets/{ticket_id}"), json={"priority": "high"},
                                  headers=csrf) as r:
            assert r.status == 200
        assert await drain(anna.ws, 0.5) == []  # other changes wake nobody


async def test_a_new_hello_updates_the_card_in_the_ticket_view(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        operator, _ = await signed_in(desk_panel, sessions, "olga@example.com")
        ows = await panel_socket(desk_panel, operator)
        await anna.ws.send_json({"type": "hello", "visit": {**VISIT, "url": "https://shop.example/checkout"}})
        frames = await receive_until(ows, lambda f: f.get("type") == "visitor.visit")
        assert frames[-1]["data"]["ticket_id"] == ticket_id
        async with operator.get(desk_panel.url(f"/api/tickets/{ticket_id}")) as r:
            card = await r.json()
        [web] = [i for i in card["contact"]["identities"] if i["channel"] == "web"]
        assert web["visit"]["url"] == "https://shop.example/checkout"
        await ows.close()


async def test_an_operators_image_is_served_for_the_widget_to_show_inline(desk_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(desk_panel, key) as anna:
        await anna.connect()
        ticket_id = await hand_off(anna)
        operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
        form = aiohttp.FormData()
        form.add_field("body", "")
        form.add_field("files", png(40, 30), filename="label.png", content_type="image/png")
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket_id}/messages"), data=form, headers=csrf) as r:
            assert r.status == 201, await r.text()
        await eventually(lambda: worker_of(desk_panel).run_once())
        frames = await receive_until(anna.ws, lambda f: f.get("type") == "message" and f["author"] == "operator")
        [image] = frames[-1]["files"]
        assert image["type"] == "image/png"
        async with anna.client.get(desk_panel.url(f"/widget/files/{image['id']}"), params=anna.query()) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "image/png"
            assert r.headers["Content-Disposition"].startswith("inline")
            assert r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
