"""ChangeOrderStatus on real PostgreSQL: the table, the actors and their scope, reasons, history,
customer notices in their language, alerts edited for every member, and two presses at once."""

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import InvalidInput, NotAllowed, NotFound, TransitionNotAllowed
from core.i18n import Translator
from core.models import Event, Order, OrderTransition, OutboxItem
from core.orders import actors
from core.orders.actors import Actor
from core.orders.errors import AlreadyChanged
from core.orders.placing import OrderDraft, place_order
from core.orders.statuses import ORDER_STATUSES, transition_allowed
from core.orders.transitions import change_status
from tests.integration.orders.conftest import Shop, make_shop

OPERATOR = Actor(kind="operator", name="Olga (operator)", id=1)


async def new_order(sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator,
                    kind: str = "delivery") -> int:
    async with sessions() as session, session.begin():
        if kind == "booking":
            from datetime import UTC, datetime, timedelta

            draft = OrderDraft(store_id=shop.store.id, kind="booking", customer_name="Ivan", language="ru",
                               scheduled_at=datetime.now(UTC) + timedelta(days=1), party_size=2, source="telegram")
        else:
            draft = shop.delivery_draft(kind=kind)
        return (await place_order(session, translator, draft, shop.customer_actor)).id


async def member(sessions: async_sessionmaker[AsyncSession], telegram_user_id: int | None) -> Actor:
    assert telegram_user_id is not None
    async with sessions() as session:
        actor = await actors.for_telegram_user(session, telegram_user_id)
    assert actor is not None
    return actor


async def move(sessions: async_sessionmaker[AsyncSession], translator: Translator, order_id: int, status: str,
               actor: Actor, reason: str | None = None, expected: str | None = None) -> Order:
    async with sessions() as session, session.begin():
        return await change_status(session, translator, order_id=order_id, new_status=status, actor=actor,
                                   reason=reason, expected=expected)


async def test_delivery_walks_its_whole_flow_with_history_notices_and_edited_alerts(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    order_id = await new_order(sessions, shop, translator)
    anna = await member(sessions, shop.anna.telegram_user_id)
    for status in ("preparing", "ready", "delivering", "completed"):
        await move(sessions, translator, order_id, status, anna)
    async with sessions() as session:
        steps = (await session.execute(
            select(OrderTransition.from_status, OrderTransition.to_status, OrderTransition.actor_name)
            .order_by(OrderTransition.id))).all()
        notices = (await session.scalars(
            select(OutboxItem.payload).where(OutboxItem.kind == "text").order_by(OutboxItem.id))).all()
        boris_alerts = (await session.scalars(
            select(OutboxItem.payload).where(OutboxItem.kind == "order_alert",
                                             OutboxItem.order_key == f"tg:{shop.boris.telegram_user_id}")
            .order_by(OutboxItem.id))).all()
        updates = await session.scalar(select(func.count()).select_from(Event).where(Event.type == "order.updated"))
    assert [tuple(step) for step in steps] == [
        (None, "pending", "Ivan Petrov"), ("pending", "preparing", "Anna"), ("preparing", "ready", "Anna"),
        ("ready", "delivering", "Anna"), ("delivering", "completed", "Anna"),
    ]
    assert [n["text"] for n in notices] == [
        f"Ваш заказ №{order_id} принят и готовится.", f"Ваш заказ №{order_id} готов.",
        f"Ваш заказ №{order_id} уже в пути.", f"Ваш заказ №{order_id} выполнен. Спасибо!",
    ]
    assert {n["chat_id"] for n in notices} == {shop.customer.telegram_user_id}
    assert len(boris_alerts) == 5 and updates == 4
    accepted = boris_alerts[1]
    assert "Accepted, preparing" in accepted["text"] and "Last action by Anna" in accepted["text"]
    assert "+7 900 123-45-67" in accepted["text"] and "Lenina 1" in accepted["text"]
    assert [row[0]["text"] for row in accepted["buttons"]] == ["Ready", "Cancel order"]
    assert boris_alerts[-1]["buttons"] == []


@pytest.mark.parametrize("kind", ["delivery", "pickup", "booking"])
async def test_every_refused_transition_is_refused_and_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator, kind: str
) -> None:
    """For each status an order can reach, every move the table does not allow raises."""
    paths = {"delivery": ["preparing", "ready", "delivering", "completed"],
             "pickup": ["preparing", "ready", "completed"], "booking": ["preparing", "completed"]}[kind]
    reachable = [[], *[paths[: i + 1] for i in range(len(paths))], ["rejected"], ["preparing", "cancelled"]]
    refused = 0
    for path in reachable:
        order_id = await new_order(sessions, shop, translator, kind)
        for status in path:
            await move(sessions, translator, order_id, status, OPERATOR, reason="because")
        current = path[-1] if path else "pending"
        for target in ORDER_STATUSES:
            if target == current or transition_allowed(kind, current, target):
                continue
            with pytest.raises(TransitionNotAllowed):
                await move(sessions, translator, order_id, target, OPERATOR, reason="because")
            refused += 1
        async with sessions() as session:
            assert (await session.get(Order, order_id)).status == current  # type: ignore[union-attr]
    assert refused > 20


async def test_staff_cannot_cancel_a_pending_order_they_reject_it_with_a_reason(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    order_id = await new_order(sessions, shop, translator)
    with pytest.raises(TransitionNotAllowed):
        await move(sessions, translator, order_id, "cancelled", OPERATOR, reason="no")
    with pytest.raises(InvalidInput) as caught:
        await move(sessions, translator, order_id, "rejected", OPERATOR, reason="  ")
    assert caught.value.params["field"] == "reason"
    await move(sessions, translator, order_id, "rejected", OPERATOR, reason="out_of_stock")
    async with sessions() as session:
        notice = await session.scalar(select(OutboxItem.payload).where(OutboxItem.kind == "text"))
    assert notice == {"chat_id": shop.customer.telegram_user_id,
                      "text": f"К сожалению, магазин не смог принять заказ №{order_id}. Причина: Нет в наличии"}


async def test_customer_cancels_only_own_pending_order(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    first = await new_order(sessions, shop, translator)
    second = await new_order(sessions, shop, translator)
    async with sessions() as session, session.begin():
        stranger = await make_shop(session, name="Other", first_user=8001)
    with pytest.raises(NotFound):
        await move(sessions, translator, first, "cancelled", stranger.customer_actor)
    with pytest.raises(NotAllowed):
        await move(sessions, translator, first, "preparing", shop.customer_actor)
    cancelled = await move(sessions, translator, first, "cancelled", shop.customer_actor)
    assert cancelled.status == "cancelled"
    await move(sessions, translator, second, "preparing", OPERATOR)
    with pytest.raises(NotAllowed):
        await move(sessions, translator, second, "cancelled", shop.customer_actor)
    async with sessions() as session:
        query = select(OutboxItem.payload["text"].astext).where(OutboxItem.kind == "text")
        texts = (await session.scalars(query)).all()
    assert f"Ваш заказ №{first} отменён по вашей просьбе." in texts


async def test_a_partner_acts_only_on_its_own_store(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    order_id = await new_order(sessions, shop, translator)
    async with sessions() as session, session.begin():
        other = await make_shop(session, name="Other", first_user=9001)
    outsider = await member(sessions, other.anna.telegram_user_id)
    with pytest.raises(NotFound):
        await move(sessions, translator, order_id, "preparing", outsider)
    async with sessions() as session:
        assert (await session.get(Order, order_id)).status == "pending"  # type: ignore[union-attr]


async def test_an_old_button_names_who_moved_the_order(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    order_id = await new_order(sessions, shop, translator)
    anna = await member(sessions, shop.anna.telegram_user_id)
    boris = await member(sessions, shop.boris.telegram_user_id)
    await move(sessions, translator, order_id, "preparing", anna, expected="pending")
    with pytest.raises(AlreadyChanged) as caught:
        await move(sessions, translator, order_id, "rejected", boris, reason="closed", expected="pending")
    assert (caught.value.status, caught.value.by) == ("preparing", "Anna")


async def test_two_presses_at_once_give_exactly_one_transition(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    order_id = await new_order(sessions, shop, translator)
    anna = await member(sessions, shop.anna.telegram_user_id)
    boris = await member(sessions, shop.boris.telegram_user_id)
    results = await asyncio.gather(
        move(sessions, translator, order_id, "preparing", anna, expected="pending"),
        move(sessions, translator, order_id, "preparing", boris, expected="pending"),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Order)]
    losers = [r for r in results if isinstance(r, AlreadyChanged)]
    assert len(winners) == 1 and len(losers) == 1
    async with sessions() as session:
        steps = (await session.scalars(
            select(OrderTransition).where(OrderTransition.to_status == "preparing"))).all()
    assert len(steps) == 1
    assert losers[0].by == steps[0].actor_name and losers[0].status == "preparing"
