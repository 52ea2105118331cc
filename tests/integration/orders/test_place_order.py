"""PlaceOrder on real PostgreSQL: items checked against the store's products and prices, totals in
minor units, history, the event partners see, and one alert per staff member."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.models import Event, OrderItem, OrderTransition, OutboxItem
from core.orders import stores
from core.orders.actors import SYSTEM
from core.orders.errors import OrderInvalid
from core.orders.placing import DraftItem, OrderDraft, place_order
from tests.integration.orders.conftest import Shop, make_shop


async def test_delivery_order_totals_items_history_event_and_alerts(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    async with sessions() as session, session.begin():
        order = await place_order(session, translator, shop.delivery_draft(), shop.customer_actor)
    assert (order.status, order.kind, order.total_minor, order.currency) == ("pending", "delivery", 122050, "RUB")
    async with sessions() as session:
        items = (await session.scalars(select(OrderItem).where(OrderItem.order_id == order.id))).all()
        history = (await session.scalars(select(OrderTransition))).all()
        event = await session.scalar(select(Event).where(Event.type == "order.created"))
        alerts = (await session.scalars(select(OutboxItem).where(OutboxItem.kind == "order_alert"))).all()
    assert [(i.name, i.quantity, i.unit_price_minor) for i in items] == [("Margherita", 2, 55000), ("Cola", 1, 12050)]
    assert [(h.from_status, h.to_status, h.actor_kind, h.actor_name) for h in history] == [
        (None, "pending", "customer", "Ivan Petrov")
    ]
    assert event is not None and (event.audience, event.store_id) == ("store", shop.store.id)
    assert event.data["id"] == order.id and event.data["customer_phone"] is None  # hidden until accepted
    by_chat = {alert.payload["chat_id"]: alert.payload for alert in alerts}
    assert set(by_chat) == {shop.anna.telegram_user_id, shop.boris.telegram_user_id}
    anna_text = by_chat[shop.anna.telegram_user_id]["text"]
    assert f"Заказ №{order.id}" in anna_text and "2 × Margherita — 1 100.00 ₽" in anna_text
    assert "Итого: <b>1 220.50 ₽</b>" in anna_text and "Ivan" in anna_text
    assert "+7 900" not in anna_text and "Lenina" not in anna_text
    boris = by_chat[shop.boris.telegram_user_id]
    assert [row[0]["text"] for row in boris["buttons"]] == ["Accept", "Reject"]
    assert boris["buttons"][0][0]["callback_data"] == f"ord:{order.id}:pending:preparing"


async def test_every_bad_field_is_reported_at_once(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    async with sessions() as session:
        other = await make_shop(session, name="Elsewhere", first_user=7001)
        hidden = await stores.add_product(session, store_id=shop.store.id, name="Gone", price_minor=100,
                                          available=False)
        assert hidden.id not in {product.id for product in await stores.catalogue(session, shop.store.id)}
        draft = shop.delivery_draft(
            items=(
                DraftItem(shop.pizza.id, 0),
                DraftItem(other.pizza.id, 1),
                DraftItem(hidden.id, 1),
                DraftItem(shop.cola.id, 1, 9999),
            ),
            customer_phone="call me",
            address=" ",
            comment="x" * 1001,
        )
        with pytest.raises(OrderInvalid) as caught:
            await place_order(session, translator, draft, shop.customer_actor)
        await session.rollback()
    assert caught.value.errors == {
        "items[0].quantity": "bad_quantity",
        "items[1].product_id": "unknown_product",
        "items[2].product_id": "unavailable",
        "items[3].unit_price_minor": "price_changed",
        "customer_phone": "bad_phone",
        "address": "required",
        "comment": "too_long",
    }


async def test_booking_needs_a_future_time_and_a_party_size(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    async with sessions() as session:
        with pytest.raises(OrderInvalid) as caught:
            await place_order(session, translator,
                              OrderDraft(store_id=shop.store.id, kind="booking", customer_name="Ann",
                                         scheduled_at=now - timedelta(hours=1), party_size=0, source="telegram"),
                              shop.customer_actor, now=now)
        await session.rollback()
    assert caught.value.errors == {"scheduled_at": "in_past", "party_size": "bad_party_size"}
    async with sessions() as session, session.begin():
        booking = await place_order(
            session, translator,
            OrderDraft(store_id=shop.store.id, kind="booking", customer_name="Ann", language="en",
                       scheduled_at=now + timedelta(days=1), party_size=4, source="telegram"),
            shop.customer_actor, now=now,
        )
    assert (booking.kind, booking.party_size, booking.total_minor) == ("booking", 4, 0)


async def test_unknown_store_and_kind_are_refused(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    async with sessions() as session:
        with pytest.raises(OrderInvalid) as caught:
            await place_order(session, translator, shop.delivery_draft(store_id=999_999), SYSTEM)
        assert caught.value.errors == {"store_id": "unknown_store"}
        with pytest.raises(OrderInvalid) as caught:
            await place_order(session, translator, shop.delivery_draft(kind="teleport"), SYSTEM)
        assert caught.value.errors == {"kind": "unknown_kind"}
        await session.rollback()
