"""Stores in the panel and the orders API for panel users: admins manage stores, staff see every
store's orders, a partner account only its own stores' — through the production app on real PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from sqlalchemy import event, select

from core.models import AuditLog, Order, StoreInvite, StoreMember
from core.orders import staff
from core.services.contacts import TelegramProfile
from tests.images import png
from tests.web.harness import Panel, drain, login, make_operator, receive_until, website_order, website_shop
from tests.web.test_ticket_api import signed_in
from tests.web.test_ws import connect


async def test_admin_sets_up_a_store_and_a_partner_account_sees_only_it(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    async with admin.post(panel.url("/api/stores"), json={"name": "Pizza Roma", "currency": "rub"}, headers=csrf) as r:
        assert r.status == 201
        roma = await r.json()
    assert (roma["currency"], roma["has_api_token"], roma["remind_after_minutes"]) == ("RUB", False, 5)
    async with admin.post(panel.url("/api/stores"), json={"name": "Sushi Bar", "time_zone": "Mars/Olympus"},
                          headers=csrf) as r:
        assert r.status == 422 and "time_zone" in (await r.json())["fields"]
    async with admin.post(panel.url("/api/stores"), json={"name": "Sushi Bar", "time_zone": "Asia/Tokyo"},
                          headers=csrf) as r:
        sushi = await r.json()
    assert (roma["time_zone"], sushi["time_zone"]) == ("UTC", "Asia/Tokyo")
    async with admin.post(panel.url(f"/api/stores/{roma['id']}/products"),
                          json={"name": "Margherita", "price_minor": 55000}, headers=csrf) as r:
        assert r.status == 201
        pizza = await r.json()
    async with admin.post(panel.url(f"/api/stores/{sushi['id']}/products"),
                          json={"name": "Maki", "price_minor": 30000}, headers=csrf) as r:
        maki = await r.json()
    tokens = {}
    for store in (roma, sushi):
        async with admin.post(panel.url(f"/api/stores/{store['id']}/token"), headers=csrf) as r:
            assert r.status == 201
            tokens[store["id"]] = (await r.json())["token"]
    async with admin.patch(panel.url(f"/api/stores/{roma['id']}"),
                           json={"remind_after_minutes": 3, "escalate_after_minutes": 10,
                                 "time_zone": "Europe/Moscow"}, headers=csrf) as r:
        changed = await r.json()
        assert r.status == 200 and (changed["escalate_after_minutes"], changed["time_zone"]) == (10, "Europe/Moscow")
    async with admin.patch(panel.url(f"/api/stores/{roma['id']}"),
                           json={"remind_after_minutes": 20, "escalate_after_minutes": 10}, headers=csrf) as r:
        assert r.status == 422  # escalation must come after the reminder

    # A Telegram invite link: single use, expiring; the token itself is not stored.
    async with admin.post(panel.url(f"/api/stores/{roma['id']}/invites"), headers=csrf) as r:
        assert r.status == 201
        invite = await r.json()
    assert invite["start"].startswith("partner_") and invite["link"] is None and invite["expires_in_hours"] == 48
    async with sessions() as session, session.begin():
        assert (await session.scalar(select(StoreInvite.store_id))) == roma["id"]
        await staff.join_with_invite(session, invite["start"].removeprefix("partner_"),
                                     TelegramProfile(user_id=9100, first_name="Anna", language_code="ru"))

    # A partner panel account gets the store; an operator account cannot be linked.
    partner_id = await make_operator(sessions, "roma@example.com", role="partner")
    operator_id = await make_operator(sessions, "op@example.com")
    async with admin.post(panel.url(f"/api/stores/{roma['id']}/members"), json={"operator_id": operator_id},
                          headers=csrf) as r:
        assert r.status == 422 and "operator_id" in (await r.json())["fields"]
    async with admin.post(panel.url(f"/api/stores/{roma['id']}/members"), json={"operator_id": partner_id},
                          headers=csrf) as r:
        assert r.status == 201
    async with admin.get(panel.url("/api/stores")) as r:
        listed = {store["name"]: store for store in (await r.json())["items"]}
    assert [m["name"] for m in listed["Pizza Roma"]["members"]] == ["Anna", "Roma"]
    assert listed["Pizza Roma"]["has_api_token"] and listed["Pizza Roma"]["open_invites"] == 0

    mine = await website_order(panel, tokens[roma["id"]], pizza["id"], "a")
    theirs = await website_order(panel, tokens[sushi["id"]], maki["id"], "b")

    partner = panel.client()
    partner_csrf = {"X-CSRF-Token": await login(panel, partner, "roma@example.com")}
    async with partner.get(panel.url("/api/stores")) as r:
        assert [store["name"] for store in (await r.json())["items"]] == ["Pizza Roma"]
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        statements.append(sql)

    event.listen(panel.desk.engine.sync_engine, "before_cursor_execute", seen)
    async with partner.get(panel.url("/api/orders")) as r:
        assert [order["id"] for order in (await r.json())["orders"]] == [mine["id"]]
    event.remove(panel.desk.engine.sync_engine, "before_cursor_execute", seen)
    assert sum("FROM store_member" in sql for sql in statements) == 1  # the partner's stores, read once
    async with partner.get(panel.url(f"/api/orders/{theirs['id']}")) as r:
        assert r.status == 404
    async with partner.patch(panel.url(f"/api/orders/{theirs['id']}"), json={"status": "preparing"},
                             headers=partner_csrf) as r:
        assert r.status == 404
    async with partner.patch(panel.url(f"/api/orders/{mine['id']}"), json={"status": "preparing"}) as r:
        assert r.status == 403  # a cookie request without the CSRF token changes nothing
    async with partner.patch(panel.url(f"/api/orders/{mine['id']}"), json={"status": "preparing"},
                             headers=partner_csrf) as r:
        assert r.status == 200 and (await r.json())["status"] == "preparing"
    for path, body in ((f"/api/stores/{roma['id']}/token", None), ("/api/stores", {"name": "Mine"}),
                       (f"/api/stores/{roma['id']}/invites", None)):
        async with partner.post(panel.url(path), json=body, headers=partner_csrf) as r:
            assert r.status == 403, path

    # Staff see every store's orders, with a personal API token as well as with the session.
    operator, _ = await signed_in(panel, sessions, "op2@example.com")
    async with operator.get(panel.url("/api/orders/board")) as r:
        board = (await r.json())["columns"]
    assert [o["id"] for o in board["pending"]] == [theirs["id"]]
    assert [o["id"] for o in board["preparing"]] == [mine["id"]]

    # Removing the panel member takes the store away from the partner at once.
    async with sessions() as session:
        member_id = await session.scalar(select(StoreMember.id).where(StoreMember.operator_id == partner_id))
    async with admin.delete(panel.url(f"/api/stores/{sushi['id']}/members/{member_id}"), headers=csrf) as r:
        assert r.status == 404  # not a member of that store
    async with admin.delete(panel.url(f"/api/stores/{roma['id']}/members/{member_id}"), headers=csrf) as r:
        assert r.status == 200
    async with partner.get(panel.url("/api/orders")) as r:
        assert (await r.json())["orders"] == []
    async with sessions() as session:
        actions = set((await session.scalars(select(AuditLog.action))).all())
        assert (await session.get(Order, mine["id"])).status == "preparing"  # type: ignore[union-attr]
    assert {"store.created", "store.api_token", "store.invite", "store.member_added",
            "store.member_removed"} <= actions


async def test_products_are_switched_off_and_closed_stores_refuse_website_orders(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    cafe = await website_shop(sessions, "Cafe")
    product_url = f"/api/stores/{cafe.store_id}/products/{cafe.product_id}"
    async with admin.patch(panel.url(product_url), json={"available": False}, headers=csrf) as r:
        assert r.status == 200 and (await r.json())["available"] is False
    async with admin.patch(panel.url(f"/api/stores/{cafe.store_id + 1}/products/{cafe.product_id}"),
                           json={"available": True}, headers=csrf) as r:
        assert r.status == 404
    async with admin.post(panel.url(f"/api/stores/{cafe.store_id}/products"), json={"name": "", "price_minor": -1},
                          headers=csrf) as r:
        assert r.status == 422 and set((await r.json())["fields"]) == {"name", "price_minor"}
    async with admin.patch(panel.url(f"/api/stores/{cafe.store_id}"), json={"is_active": False}, headers=csrf) as r:
        assert r.status == 200 and (await r.json())["is_active"] is False
    body = {"kind": "pickup", "items": [{"product_id": cafe.product_id, "quantity": 1}], "customer_name": "M",
            "customer_phone": "+7 911 000-11-22"}
    async with panel.client().post(panel.url("/api/orders"), json=body,
                                   headers={"Authorization": f"Bearer {cafe.token}", "Idempotency-Key": "k"}) as r:
        assert r.status == 401  # a closed store's token no longer takes orders


async def test_dashboard_counts_orders_by_status(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    cafe = await website_shop(sessions, "Cafe")
    first = await website_order(panel, cafe.token, cafe.product_id, "1")
    await website_order(panel, cafe.token, cafe.product_id, "2")
    async with admin.patch(panel.url(f"/api/orders/{first['id']}"), json={"status": "rejected", "reason": "closed"},
                           headers=csrf) as r:
        assert r.status == 200
    async with admin.get(panel.url("/api/dashboard?days=7")) as r:
        figures = await r.json()
    assert figures["orders_by_status"] == {"pending": 1, "rejected": 1}
    assert figures["csat"] == {"average": None, "count": 0, "satisfied": None}
    async with admin.get(panel.url("/dashboard?days=7")) as r:
        html = await r.text()
    assert r.status == 200 and "Orders by status" in html and "Rejected" in html


async def test_a_partner_socket_gets_its_stores_order_events_only_and_is_cut_off_when_removed(
    panel: Panel, sessions
) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    roma, sushi = await website_shop(sessions, "Roma", "Pizza"), await website_shop(sessions, "Sushi", "Maki")
    partner_id = await make_operator(sessions, "roma@example.com", role="partner")
    async with admin.post(panel.url(f"/api/stores/{roma.store_id}/members"), json={"operator_id": partner_id},
                          headers=csrf) as r:
        member_id = (await r.json())["id"]
    partner = panel.client()
    await login(panel, partner, "roma@example.com")
    ws, hello = await connect(panel, partner, after=None)
    theirs = await website_order(panel, sushi.token, sushi.product_id, "s")
    mine = await website_order(panel, roma.token, roma.product_id, "r")
    frames = await receive_until(ws, lambda f: f.get("type") == "order.created")
    frames += await drain(ws)
    orders = [(f["type"], f["data"]["id"]) for f in frames if f.get("type", "").startswith("order.")]
    assert orders == [("order.created", mine["id"])] and theirs["id"] != mine["id"]
    async with admin.delete(panel.url(f"/api/stores/{roma.store_id}/members/{member_id}"), headers=csrf) as r:
        assert r.status == 200
    async with asyncio.timeout(5):
        while (message := await ws.receive()).type == aiohttp.WSMsgType.TEXT:
            assert not json.loads(message.data).get("type", "").startswith("order.")
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert hello["type"] == "hello"


def photo_form(data: bytes, file_name: str = "photo.png", content_type: str = "image/png") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("photo", data, filename=file_name, content_type=content_type)
    return form


async def test_an_admin_uploads_a_product_photo_and_only_the_stores_people_see_it(panel: Panel, sessions) -> None:
    await make_operator(sessions, "root@example.com", role="admin", language="ru")
    admin = panel.client()
    csrf = {"X-CSRF-Token": await login(panel, admin, "root@example.com")}
    roma = await website_shop(sessions, "Pizza Roma", "Margherita")
    sushi = await website_shop(sessions, "Sushi Bar", "Maki")
    photo_path = f"/api/stores/{roma.store_id}/products/{roma.product_id}/photo"
    image = png(4, 3)

    async with admin.put(panel.url(photo_path), data=photo_form(b"MZ\x90\x00 not an image", "photo.jpg",
                                                                    "image/jpeg"), headers=csrf) as r:
        assert r.status == 422  # judged by its bytes, not by its name or claimed type
        assert (await r.json())["fields"]["photo"] == "Фото товара должно быть изображением JPEG, PNG или WebP."
    async with admin.put(panel.url(photo_path), data=photo_form(image + b"\0" * (10 * 1024 * 1024)),
                         headers=csrf) as r:
        assert r.status == 422 and (await r.json())["fields"]["photo"] == "Фото товара — не больше 10 МБ."
    async with admin.put(panel.url(f"/api/stores/{sushi.store_id}/products/{roma.product_id}/photo"),
                         data=photo_form(image), headers=csrf) as r:
        assert r.status == 404  # that product is not in that store
    async with admin.put(panel.url(photo_path), data=photo_form(image)) as r:
        assert r.status == 403  # no CSRF token
    operator, operator_csrf = await signed_in(panel, sessions, "op@example.com")
    async with operator.put(panel.url(photo_path), data=photo_form(image), headers=operator_csrf) as r:
        assert r.status == 403  # products are the admins'

    async with admin.put(panel.url(photo_path), data=photo_form(image), headers=csrf) as r:
        assert r.status == 200
        product = await r.json()
    assert product["has_photo"] and product["photo_url"].startswith(f"/api/products/{roma.product_id}/photo?v=")
    async with admin.get(panel.url("/api/stores")) as r:
        listed = {store["name"]: store for store in (await r.json())["items"]}
    assert listed["Pizza Roma"]["products"][0]["photo_url"] == product["photo_url"]
    assert listed["Sushi Bar"]["products"][0]["has_photo"] is False

    async with operator.get(panel.url(product["photo_url"])) as r:
        assert r.status == 200 and await r.read() == image
        assert r.headers["Content-Type"] == "image/png" and r.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in r.headers["Content-Security-Policy"]
    partner_id = await make_operator(sessions, "sushi@example.com", role="partner")
    async with admin.post(panel.url(f"/api/stores/{sushi.store_id}/members"), json={"operator_id": partner_id},
                          headers=csrf) as r:
        assert r.status == 201
    partner = panel.client()
    await login(panel, partner, "sushi@example.com")
    async with partner.get(panel.url(product["photo_url"])) as r:
        assert r.status == 404  # another store's product

    async with admin.delete(panel.url(photo_path), headers=csrf) as r:
        assert r.status == 200 and (await r.json())["has_photo"] is False
    async with operator.get(panel.url(product["photo_url"])) as r:
        assert r.status == 404
    async with sessions() as session:
        actions = list((await session.scalars(select(AuditLog.action).where(AuditLog.action.like("product.%")))).all())
    assert actions == ["product.photo", "product.photo_removed"]
