"""The orders API through aiohttp's test client and the production app factory, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Order, OrderTransition, OutboxItem
from core.orders import stores
from core.settings import load_settings
from desk import build_desk
from tests.integration.orders.conftest import Shop, make_shop
from web.app import create_app


@dataclass
class Api:
    client: TestClient
    token: str
    other_token: str
    shop: Shop
    other: Shop

    async def post(self, body: Any, key: str | None = "key-1", token: str | None = None,
                   language: str = "en") -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token or self.token}", "Accept-Language": language}
        if key is not None:
            headers["Idempotency-Key"] = key
        response = await self.client.post("/api/orders", json=body, headers=headers)
        return response.status, await response.json()

    async def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> tuple[int, Any]:
        headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        response = await self.client.request(method, path, headers=headers, **kwargs)
        return response.status, await response.json()


@pytest.fixture
async def api(database_url: str, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Api]:
    async with sessions() as session, session.begin():
        shop = await make_shop(session)
        other = await make_shop(session, name="Sushi Bar", first_user=7001)
        token = await stores.issue_api_token(session, shop.store.id)
        other_token = await stores.issue_api_token(session, other.store.id)
    desk = build_desk(load_settings(_env_file=None, database_url=database_url), database_url)
    client = TestClient(TestServer(create_app(desk), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield Api(client, token, other_token, shop, other)
    finally:
        await client.close()
        await desk.engine.dispose()


def good_body(shop: Shop, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "delivery",
        "items": [{"product_id": shop.pizza.id, "quantity": 2, "unit_price_minor": 55000},
                  {"product_id": shop.cola.id, "quantity": 1}],
        "customer_name": "Maria", "customer_phone": "+7 911 000-11-22", "address": "Nevsky 10",
        "comment": "ring twice", "language": "ru",
    }
    body.update(changes)
    return body


async def count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_intake_creates_the_order_and_alerts_the_staff(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    status, body = await api.post(good_body(api.shop))
    assert status == 201
    assert (body["status"], body["source"], body["total_minor"], body["store_id"]) == (
        "pending", "web", 122050, api.shop.store.id)
    assert body["customer_phone"] is None and body["address"] is None
    async with sessions() as session:
        alerts = (await session.scalars(select(OutboxItem).where(OutboxItem.kind == "order_alert"))).all()
    assert {a.payload["member_id"] for a in alerts} == {api.shop.anna.id, api.shop.boris.id}


async def test_a_retried_request_creates_one_order(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    first_status, first = await api.post(good_body(api.shop), key="retry-me")
    second_status, second = await api.post(good_body(api.shop), key="retry-me")
    assert (first_status, second_status) == (201, 200) and first["id"] == second["id"]
    assert await count(sessions, Order) == 1


async def test_concurrent_retries_create_one_order(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    results = await asyncio.gather(*(api.post(good_body(api.shop), key="burst") for _ in range(4)))
    assert sorted(status for status, _ in results) == [200, 200, 200, 201]
    assert len({body["id"] for _, body in results}) == 1
    assert await count(sessions, Order) == 1


async def test_same_key_with_a_different_body_is_a_conflict(api: Api) -> None:
    assert (await api.post(good_body(api.shop), key="k"))[0] == 201
    status, body = await api.post(good_body(api.shop, comment="changed"), key="k", language="ru")
    assert status == 409 and body["error"] == "idempotency_mismatch"
    assert body["message"] == "Этот Idempotency-Key уже использован для другого заказа."


async def test_the_same_key_is_independent_per_store(api: Api) -> None:
    body = good_body(api.other, items=[{"product_id": api.other.pizza.id, "quantity": 1}])
    assert (await api.post(good_body(api.shop), key="shared"))[0] == 201
    assert (await api.post(body, key="shared", token=api.other_token))[0] == 201


async def test_bad_payload_gets_422_field_by_field_in_the_callers_language(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = good_body(api.shop, items=[{"product_id": api.other.pizza.id, "quantity": 1},
                                      {"product_id": api.shop.pizza.id, "quantity": "two"},
                                      {"product_id": api.shop.cola.id, "quantity": 1, "unit_price_minor": 1}],
                     customer_phone="nope", address="", scheduled_at="tomorrow")
    status, answer = await api.post(body, language="ru")
    assert status == 422 and answer["error"] == "order_invalid"
    assert answer["codes"] == {
        "items[0].product_id": "unknown_product", "items[1].quantity": "bad_quantity",
        "items[2].unit_price_minor": "price_changed", "customer_phone": "bad_phone", "address": "required",
        "scheduled_at": "bad_type",
    }
    assert answer["fields"]["address"] == "Это поле обязательно."
    assert answer["fields"]["items[0].product_id"] == "В этом магазине нет такого товара."
    assert await count(sessions, Order) == 0
    status, answer = await api.post(good_body(api.shop))  # the refused request did not burn the key
    assert status == 201


async def test_a_booking_time_without_an_offset_is_the_stores_local_time(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await stores.update_store(session, api.shop.store.id, actor_id=None, time_zone="Asia/Tokyo")
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    booking = {"kind": "booking", "customer_name": "Maria", "customer_phone": "+7 911 000-11-22", "party_size": 4}
    status, local = await api.post({**booking, "scheduled_at": f"{day}T19:00"}, key="local")
    assert status == 201, local
    status, explicit = await api.post({**booking, "scheduled_at": f"{day}T19:00+03:00"}, key="explicit")
    assert status == 201, explicit
    assert datetime.fromisoformat(local["scheduled_at"]) == datetime.fromisoformat(f"{day}T10:00+00:00")
    assert datetime.fromisoformat(explicit["scheduled_at"]) == datetime.fromisoformat(f"{day}T16:00+00:00")


async def test_out_of_range_values_are_field_errors_not_server_errors(api: Api) -> None:
    body = good_body(api.shop, items=[{"product_id": 2**70, "quantity": 1}, {"product_id": 2**63 - 1, "quantity": 1}],
                     customer_phone="+7" + " " * 40 + "9001234567", party_size=10**30)
    status, answer = await api.post(body)
    assert status == 422
    assert answer["codes"] == {"items[0].product_id": "bad_type", "items[1].product_id": "unknown_product",
                               "customer_phone": "bad_phone", "party_size": "bad_party_size"}


@pytest.mark.parametrize(("raw", "headers", "expected"), [
    ("not json", {"Idempotency-Key": "x"}, (422, "bad_json")),
    ("[1, 2]", {"Idempotency-Key": "x"}, (422, "bad_json")),
    ('{"kind": "pickup"}', {}, (422, "order_invalid")),
])
async def test_malformed_requests_are_refused_clearly(
    api: Api, raw: str, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    response = await api.client.post("/api/orders", data=raw, headers={
        "Authorization": f"Bearer {api.token}", "Content-Type": "application/json", **headers})
    assert (response.status, (await response.json())["error"]) == expected


async def test_a_wrong_or_missing_token_is_401(api: Api) -> None:
    assert (await api.post(good_body(api.shop), token="st_forged"))[0] == 401
    status, body = await api.call("GET", "/api/orders")
    assert status == 401 and body["error"] == "unauthorized"


async def test_a_store_reads_and_moves_only_its_own_orders(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, mine = await api.post(good_body(api.shop))
    _, theirs = await api.post(good_body(api.other, items=[{"product_id": api.other.cola.id, "quantity": 3}]),
                               token=api.other_token)
    status, listed = await api.call("GET", "/api/orders", token=api.token)
    assert status == 200 and [o["id"] for o in listed["orders"]] == [mine["id"]]
    assert (await api.call("GET", f"/api/orders/{theirs['id']}", token=api.token))[0] == 404
    status, body = await api.call("PATCH", f"/api/orders/{theirs['id']}", token=api.token,
                                  json={"status": "preparing"})
    assert (status, body["error"]) == (404, "not_found")
    async with sessions() as session:
        assert (await session.get(Order, theirs["id"])).status == "pending"  # type: ignore[union-attr]
    status, detail = await api.call("GET", f"/api/orders/{mine['id']}", token=api.token)
    assert status == 200 and [step["to"] for step in detail["history"]] == ["pending"]


async def test_patch_walks_the_table_and_refuses_the_rest(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, order = await api.post(good_body(api.shop, kind="pickup", address=""))
    path = f"/api/orders/{order['id']}"
    refused = [("ready", 409, "transition_not_allowed"), ("delivering", 409, "transition_not_allowed"),
               ("completed", 409, "transition_not_allowed"), ("cancelled", 409, "transition_not_allowed"),
               ("lost", 422, "invalid_input"), ("rejected", 422, "invalid_input")]
    for status_name, code, error in refused:
        status, body = await api.call("PATCH", path, token=api.token, json={"status": status_name})
        assert (status, body["error"]) == (code, error), status_name
    status, body = await api.call("PATCH", path, token=api.token, json={"status": "preparing"})
    assert status == 200 and body["status"] == "preparing" and body["customer_phone"] == "+7 911 000-11-22"
    status, body = await api.call("PATCH", path, token=api.token, json={"status": "preparing"})
    assert (status, body["error"]) == (409, "transition_not_allowed")
    status, body = await api.call("PATCH", path, token=api.token, json={"status": "ready", "expected": "pending"},
                                  headers={"Accept-Language": "en"})
    assert status == 409 and body["message"] == (
        "The order was already changed by Pizza Roma (website); it is now Accepted, preparing.")
    for step in ("ready", "completed"):
        assert (await api.call("PATCH", path, token=api.token, json={"status": step}))[0] == 200
    assert (await api.call("PATCH", path, token=api.token, json={"status": "cancelled", "reason": "x"}))[0] == 409
    async with sessions() as session:
        steps = (await session.scalars(select(OrderTransition.to_status).order_by(OrderTransition.id))).all()
    assert list(steps) == ["pending", "preparing", "ready", "completed"]


async def test_board_groups_open_orders_by_status_within_scope(api: Api) -> None:
    _, first = await api.post(good_body(api.shop), key="a")
    _, second = await api.post(good_body(api.shop), key="b")
    await api.post(good_body(api.other, items=[{"product_id": api.other.cola.id, "quantity": 1}]),
                   token=api.other_token, key="c")
    await api.call("PATCH", f"/api/orders/{second['id']}", token=api.token, json={"status": "preparing"})
    status, body = await api.call("GET", "/api/orders/board", token=api.token)
    columns = body["columns"]
    assert status == 200 and list(columns) == ["pending", "preparing", "ready", "delivering"]
    assert body["more"] == {}  # every open order fits on the board
    assert [o["id"] for o in columns["pending"]] == [first["id"]]
    assert [o["id"] for o in columns["preparing"]] == [second["id"]]
    assert columns["preparing"][0]["actions"] == ["ready", "cancelled"]
