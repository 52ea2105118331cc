"""Sites of the website chat widget through the production app on real PostgreSQL: admins manage
them (`/api/sites`), partners read their stores' ones, operators are refused; a site's tickets go to
its queue and name it on the customer card; the pre-chat form's answers become the visitor's name and
(unverified) e-mail; a site refuses origins it does not list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.models import Contact, Queue, Site, StoreMember, Ticket, WidgetReceipt
from core.orders import stores
from core.services import sites as site_service
from tests.web.harness import Panel, login, make_operator
from tests.web.test_ticket_api import signed_in
from tests.web.test_widget import (  # noqa: F401
    SHOP,
    desk_panel,
    hand_off,
    handshake_status,
    visiting,
)
from web.widget import tokens

OTHER = "https://other.example"


async def _queue_id(sessions, slug: str) -> int:
    async with sessions() as session:
        return (await session.scalar(select(Queue.id).where(Queue.slug == slug)))  # type: ignore[return-value]


async def _site(sessions, **settings: Any) -> Site:
    async with sessions() as session, session.begin():
        return await site_service.create_site(session, site_service.SiteSettings(**settings))


async def test_admins_create_change_and_delete_sites_operators_are_refused(desk_panel: Panel, sessions) -> None:  # noqa: F811
    async with sessions() as session, session.begin():
        store_id = (await stores.create_store(session, name="Corner shop")).id
    billing = await _queue_id(sessions, "billing")
    admin, csrf = await signed_in(desk_panel, sessions, "root@example.com", role="admin")
    body = {"name": "Corner shop — mobile", "origins": ["HTTPS://M.Shop.example/", "http://localhost:8001"],
            "greeting": "Hi!", "color": "#0F766E", "hours": "9–18", "queue_id": billing, "store_id": store_id,
            "prechat": "required"}
    async with admin.post(desk_panel.url("/api/sites"), json=body) as r:
        assert r.status == 403  # no CSRF token: nothing is made
    async with admin.post(desk_panel.url("/api/sites"), json=body, headers=csrf) as r:
        assert r.status == 201
        site = await r.json()
    assert site["origins"] == ["http://localhost:8001", "https://m.shop.example"] and site["color"] == "#0f766e"
    assert (site["queue_id"], site["store_id"], site["prechat"]) == (billing, store_id, "required")
    assert site["secret"].startswith("ws_") and f'data-key="{site["key"]}"' in site["snippet"]

    refusals = {"name": {"name": "  "}, "origins": {"origins": ["https://shop.example/path"]},
                "color": {"color": "red"}, "queue_id": {"queue_id": 999999}, "store_id": {"store_id": 999999},
                "prechat": {"prechat": "sometimes"}, "greeting": {"greeting": "x" * 501}}
    for field, change in refusals.items():
        async with admin.put(desk_panel.url(f"/api/sites/{site['id']}"), json=change, headers=csrf) as r:
            assert r.status == 422, field
            answer = await r.json()
            assert field in answer["fields"] and answer["fields"][field], answer
    async with admin.put(desk_panel.url(f"/api/sites/{site['id']}"), json={"queue_id": None, "prechat": "off"},
                         headers=csrf) as r:
        changed = await r.json()
    assert (changed["queue_id"], changed["prechat"], changed["name"]) == (None, "off", "Corner shop — mobile")
    async with admin.post(desk_panel.url(f"/api/sites/{site['id']}/secret"), headers=csrf) as r:
        assert (await r.json())["secret"] not in ("", site["secret"])

    operator, operator_csrf = await signed_in(desk_panel, sessions, "olga@example.com")
    for method, path in (("GET", "/api/sites"), ("GET", f"/api/sites/{site['id']}"), ("POST", "/api/sites"),
                         ("PUT", f"/api/sites/{site['id']}"), ("DELETE", f"/api/sites/{site['id']}"),
                         ("POST", f"/api/sites/{site['id']}/secret")):
        async with operator.request(method, desk_panel.url(path), json={"name": "x"}, headers=operator_csrf) as r:
            assert r.status == 403, (method, path)

    async with admin.delete(desk_panel.url(f"/api/sites/{site['id']}"), headers=csrf) as r:
        assert r.status == 204
    async with admin.get(desk_panel.url(f"/api/sites/{site['id']}")) as r:
        assert r.status == 404


async def test_a_partner_reads_its_stores_sites_without_secrets(desk_panel: Panel, sessions) -> None:  # noqa: F811
    async with sessions() as session, session.begin():
        mine = (await stores.create_store(session, name="Mine")).id
        theirs = (await stores.create_store(session, name="Theirs")).id
    own = await _site(sessions, name="Mine", store_id=mine)
    other = await _site(sessions, name="Theirs", store_id=theirs)
    desk_own = await _site(sessions, name="Desk")
    partner_id = await make_operator(sessions, "shop@example.com", role="partner")
    async with sessions() as session, session.begin():
        session.add(StoreMember(store_id=mine, operator_id=partner_id, language="en"))
    client = desk_panel.client()
    csrf = {"X-CSRF-Token": await login(desk_panel, client, "shop@example.com")}
    async with client.get(desk_panel.url("/api/sites")) as r:
        listed = (await r.json())["items"]
    assert [(s["id"], s["secret"]) for s in listed] == [(own.id, None)]
    async with client.get(desk_panel.url(f"/api/sites/{own.id}")) as r:
        assert r.status == 200 and (await r.json())["key"] == own.key
    for site_id in (other.id, desk_own.id):
        async with client.get(desk_panel.url(f"/api/sites/{site_id}")) as r:
            assert r.status == 404
    async with client.put(desk_panel.url(f"/api/sites/{own.id}"), json={"name": "Mine!"}, headers=csrf) as r:
        assert r.status == 403


async def test_a_sites_ticket_goes_to_its_queue_and_names_the_site(desk_panel: Panel, sessions) -> None:  # noqa: F811
    billing = await _queue_id(sessions, "billing")
    site = await _site(sessions, name="Help centre", origins=[SHOP], queue_id=billing)  # the desk's own site
    async with visiting(desk_panel, site.key) as anna:
        [hello, *_] = await anna.connect()
        assert hello["visitor"] == anna.token.split(".")[1] and anna.token.startswith(f"site{site.id}.")
        ticket_id = await hand_off(anna)  # picks "Technical support": the site's queue wins
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and (ticket.queue_id, ticket.site_id) == (billing, site.id)
    admin, csrf = await signed_in(desk_panel, sessions, "root@example.com", role="admin")
    async with admin.get(desk_panel.url(f"/api/tickets/{ticket_id}")) as r:
        card = await r.json()
    assert card["site"] == {"id": site.id, "name": "Help centre"} and card["queue_id"] == billing
    async with admin.delete(desk_panel.url(f"/api/sites/{site.id}"), headers=csrf) as r:
        assert r.status == 409  # the card names it: take its origins away instead


async def test_a_site_refuses_origins_it_does_not_list(desk_panel: Panel, sessions) -> None:  # noqa: F811
    first = await _site(sessions, name="First", origins=[SHOP])
    second = await _site(sessions, name="Second", origins=[OTHER])
    assert await handshake_status(desk_panel, {"key": first.key}) == 101
    assert await handshake_status(desk_panel, {"key": second.key}) == 403  # SHOP is the first's, not the second's
    assert await handshake_status(desk_panel, {"key": second.key}, origin=OTHER) == 101


async def test_the_prechat_answers_name_the_visitor_and_show_on_the_card(desk_panel: Panel, sessions) -> None:  # noqa: F811
    site = await _site(sessions, name="Shop", origins=[SHOP], prechat="required")
    off = await _site(sessions, name="No form", origins=[SHOP])
    async with visiting(desk_panel, site.key) as anna:
        [hello, *_] = await anna.connect()
        assert hello["prechat"] == "required"
        bad = {"type": "prechat", "client_id": "p0", "name": "Anna", "email": "anna@"}
        await anna.ws.send_json(bad)
        refused = await anna.ws.receive_json()
        assert (refused["type"], refused["code"], refused["client_id"], refused["retry"]) == (
            "error", "bad_prechat", "p0", False)
        await anna.send({"type": "prechat", "client_id": "p1", "name": " Anna <b>K</b> ",
                         "email": "anna@example.com"})
        ticket_id = await hand_off(anna)
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        contact = await session.get(Contact, ticket.contact_id)
        assert contact is not None and contact.name == "Anna <b>K</b>"
    admin, _ = await signed_in(desk_panel, sessions, "root@example.com", role="admin")
    async with admin.get(desk_panel.url(f"/api/contacts/{ticket.contact_id}")) as r:
        shown = await r.json()
    [web] = [i for i in shown["identities"] if i["channel"] == "web"]
    assert (shown["name"], web["display_name"], web["given_email"]) == (
        "Anna <b>K</b>", "Anna <b>K</b>", "anna@example.com")
    assert [i["channel"] for i in shown["identities"]] == ["web"]  # the unverified address is no identity
    async with visiting(desk_panel, off.key) as bob:
        await bob.connect()
        await bob.ws.send_json({"type": "prechat", "client_id": "p2", "name": "Bob", "email": ""})
        refused = await bob.ws.receive_json()
        assert (refused["code"], refused["retry"]) == ("bad_frame", False)


async def test_a_required_prechat_form_is_enforced_by_the_desk_not_only_by_the_widget(
    desk_panel: Panel, sessions  # noqa: F811
) -> None:
    site = await _site(sessions, name="Shop", origins=[SHOP], prechat="required")
    async with visiting(desk_panel, site.key, language="ru") as mallory:
        await mallory.connect()
        await mallory.start()  # the greeting is harmless: the widget sends it once the form is answered
        await mallory.ws.send_json({"type": "message", "client_id": "m1", "text": "no form for me"})
        held = await mallory.ws.receive_json()
        assert (held["type"], held["code"], held["client_id"], held["retry"]) == (
            "error", "prechat_required", "m1", True), "kept by the widget, sent again after the form"
        assert held["text"] == "Пожалуйста, укажите имя и адрес электронной почты, прежде чем писать."
        await mallory.ws.send_json({"type": "prechat", "client_id": "p1", "name": "Mallory", "email": ""})
        half = await mallory.ws.receive_json()
        assert (half["code"], half["client_id"], half["retry"]) == ("bad_prechat", "p1", False)
        async with sessions() as session:  # nothing ran: no receipt answers the frame when it comes again
            assert await session.scalar(select(WidgetReceipt.client_id).where(WidgetReceipt.client_id == "m1")) is None
        await mallory.send({"type": "prechat", "client_id": "p2", "name": "Mallory", "email": "m@example.com"})
        sent = await mallory.say("no form for me", client_id="m1")  # the held message, sent again
        assert sent[0] == {"type": "ack", "client_id": "m1"} and len(sent) > 1, "the dialogue answered it"


async def test_a_signed_in_user_of_a_site_without_a_store_is_scoped_to_the_site(desk_panel: Panel,  # noqa: F811
                                                                                 sessions) -> None:
    async with sessions() as session, session.begin():
        store_id = (await stores.create_store(session, name="Corner shop")).id
    own = await _site(sessions, name="Desk", origins=[SHOP])
    first = await _site(sessions, name="Shop", origins=[SHOP], store_id=store_id)
    second = await _site(sessions, name="Shop mobile", origins=[SHOP], store_id=store_id)
    seen = []
    for site in (own, first, second):
        params = {"key": site.key, "user": "u-1", "user_hash": tokens.user_hash(site.secret, "u-1")}
        async with visiting(desk_panel, site.key) as visitor:
            visitor.ws = await visitor.client.ws_connect(desk_panel.url("/widget/ws"), params=params,
                                                         headers={"Origin": SHOP})
            seen.append((await visitor.ws.receive_json())["visitor"])
    # one person on both of the store's sites; the desk's own site has its own
    assert seen == [f"site:{own.id}:user:u-1", f"store:{store_id}:user:u-1", f"store:{store_id}:user:u-1"]
