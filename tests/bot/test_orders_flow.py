"""Ordering and partner alerts through the real aiogram client and the Bot-API test server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import MenuCb
from bot.orders.callbacks import ShopCb
from core.i18n import load_translator
from core.models import Operator, Order, OrderTransition, Product, Store
from core.orders import photos, staff, stores
from core.orders.reminders import run_reminders
from tests.botapi import TelegramServer
from tests.botapi.objects import TgUser
from tests.botapi.server import Call
from tests.images import png
from tests.waiting import eventually

# Deliveries go through the outbox worker; on a loaded machine they can take a few seconds.
WAIT = 20.0


@dataclass
class World:
    store: Store
    pizza: Product
    cola: Product
    anna: TgUser
    boris: TgUser


async def open_shop(telegram: TelegramServer, sessions: async_sessionmaker[AsyncSession],
                    time_zone: str = "UTC") -> World:
    """A store with two products; Anna (ru) and Boris (en) join its staff by invite links."""
    async with sessions() as session, session.begin():
        store = await stores.create_store(session, name="Pizza Roma", time_zone=time_zone)
        pizza = await stores.add_product(session, store_id=store.id, name="Margherita", price_minor=55000,
                                         photo=telegram.add_file(b"\xff\xd8jpeg", "pizza.jpg").file_id)
        cola = await stores.add_product(session, store_id=store.id, name="Cola", price_minor=12050)
        tokens = [await staff.create_invite(session, store.id) for _ in range(2)]
    anna = telegram.user("Anna", language_code="ru")
    boris = telegram.user("Boris", language_code="en")
    for person, token, welcome in ((anna, tokens[0], "Pizza Roma"), (boris, tokens[1], "Pizza Roma")):
        await telegram.send(person, f"/start partner_{token}")
        joined = await telegram.wait_for_call("sendMessage", lambda c, p=person: c.chat_id == p.id, timeout=WAIT)
        assert welcome in joined.text
    return World(store, pizza, cola, anna, boris)


async def last_to(telegram: TelegramServer, user: TgUser, method: str, needle: str, since: int = 0) -> Call:
    return await telegram.wait_for_call(method, lambda c: c.chat_id == user.id and needle in c.text, since=since,
                                        timeout=WAIT)


async def press_and_wait(telegram: TelegramServer, user: TgUser, call: Call, data: str) -> dict[str, Any]:
    query_id = await telegram.press(user, call, data)
    answer = await telegram.wait_for_call("answerCallbackQuery",
                                          lambda c: c.params["callback_query_id"] == query_id, timeout=WAIT)
    return answer.params


async def shop_to_checkout(telegram: TelegramServer, customer: TgUser, world: World, adds: list[int]) -> Call:
    await telegram.send(customer, "/start")
    menu = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == customer.id, timeout=WAIT)
    await press_and_wait(telegram, customer, menu, MenuCb(action="order").pack())
    stores_list = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == customer.id and c.buttons
                                               and c.buttons[0]["text"] == "Pizza Roma", timeout=WAIT)
    await press_and_wait(telegram, customer, stores_list, stores_list.button("Pizza Roma")["callback_data"])
    for product_id in adds:
        await press_and_wait(telegram, customer, stores_list, ShopCb(action="add", value=product_id).pack())
    return stores_list


async def test_delivery_order_in_ru_alerts_both_staff_and_an_accept_edits_the_other_alert(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await desk_bot()
    world = await open_shop(telegram, sessions)
    ivan = telegram.user("Ivan", language_code="ru")
    cart = await shop_to_checkout(telegram, ivan, world, [world.pizza.id, world.pizza.id, world.cola.id])
    rendered = await last_to(telegram, ivan, "editMessageText", "Cola × 1")
    assert len(telegram.sent_to(ivan.id)) == 2  # the menu and the one shopping message; the cart is edited
    assert rendered.params["message_id"] == cart.result["message_id"]
    assert "Margherita × 2 = 1 100.00 ₽" in rendered.text and "Итого: 1 220.50 ₽" in rendered.text
    await press_and_wait(telegram, ivan, cart, ShopCb(action="dec", value=world.cola.id).pack())
    await press_and_wait(telegram, ivan, cart, ShopCb(action="inc", value=world.cola.id).pack())
    await press_and_wait(telegram, ivan, cart, ShopCb(action="checkout").pack())
    await press_and_wait(telegram, ivan, cart, "okind:delivery")
    await last_to(telegram, ivan, "sendMessage", "адрес")
    await telegram.send(ivan, "Невский 1, кв. 2")
    ask_phone = await last_to(telegram, ivan, "sendMessage", "телефон")
    assert ask_phone.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    await telegram.send(ivan, contact={"phone_number": "+79001234567", "first_name": "Ivan", "user_id": ivan.id})
    comment = await last_to(telegram, ivan, "sendMessage", "Комментарий")
    await press_and_wait(telegram, ivan, comment, comment.buttons[0]["callback_data"])
    summary = await last_to(telegram, ivan, "sendMessage", "Проверьте заказ")
    assert "Невский 1" in summary.text and "+79001234567" in summary.text
    confirm = summary.button("Подтвердить")["callback_data"]
    await asyncio.gather(press_and_wait(telegram, ivan, summary, confirm),  # a double tap places one order
                         press_and_wait(telegram, ivan, summary, confirm))
    placed = await last_to(telegram, ivan, "editMessageText", "оформлен")
    await telegram.settled()  # the bot answers before its transaction commits
    async with sessions() as session:
        orders = (await session.scalars(select(Order))).all()
    assert len(orders) == 1
    order = orders[0]
    assert order is not None and f"№{order.id}" in placed.text and order.total_minor == 122050

    anna_alert = await last_to(telegram, world.anna, "sendMessage", f"Заказ №{order.id}")
    boris_alert = await last_to(telegram, world.boris, "sendMessage", f"Order #{order.id}")
    assert "+7900" not in anna_alert.text and "Невский" not in anna_alert.text
    assert [b["text"] for b in boris_alert.buttons] == ["Accept", "Reject"]
    answer = await press_and_wait(telegram, world.anna, anna_alert, anna_alert.button("Принять")["callback_data"])
    assert answer["text"].startswith("✅")
    edited = await telegram.wait_for_call("editMessageText", lambda c: c.chat_id == world.boris.id, timeout=WAIT)
    assert edited.params["message_id"] == boris_alert.result["message_id"]
    assert "Accepted, preparing" in edited.text and "Last action by Anna" in edited.text
    assert "+79001234567" in edited.text and "Невский 1" in edited.text
    assert [b["text"] for b in edited.buttons] == ["Ready", "Cancel order"]
    await last_to(telegram, world.anna, "editMessageText", "Принят, готовится")
    await last_to(telegram, ivan, "sendMessage", f"Ваш заказ №{order.id} принят и готовится.")


async def place_by_core(sessions: async_sessionmaker[AsyncSession], world: World, customer: TgUser,
                        language: str = "en") -> int:
    from bot.contacts import contact_for_telegram
    from core.orders.actors import customer as customer_actor
    from core.orders.placing import DraftItem, OrderDraft, place_order
    from core.services.contacts import TelegramProfile

    async with sessions() as session, session.begin():
        contact = await contact_for_telegram(session, TelegramProfile(customer.id, customer.first_name,
                                                                      language_code=language))
        order = await place_order(session, load_translator(), OrderDraft(
            store_id=world.store.id, kind="pickup", items=(DraftItem(world.pizza.id, 1),),
            customer_name=customer.first_name, customer_phone="+7 900 000 00 00", language=language,
            source="telegram",
        ), customer_actor(contact))
        return order.id


async def alerts_for(telegram: TelegramServer, world: World, order_id: int) -> tuple[Call, Call]:
    anna = await last_to(telegram, world.anna, "sendMessage", f"Заказ №{order_id}")
    boris = await last_to(telegram, world.boris, "sendMessage", f"Order #{order_id}")
    return anna, boris


async def test_two_presses_at_once_give_one_transition_and_the_loser_learns_who_won(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await desk_bot()
    world = await open_shop(telegram, sessions)
    order_id = await place_by_core(sessions, world, telegram.user("Kim"))
    anna_alert, boris_alert = await alerts_for(telegram, world, order_id)
    data = f"ord:{order_id}:pending:preparing"
    answers = await asyncio.gather(press_and_wait(telegram, world.anna, anna_alert, data),
                                   press_and_wait(telegram, world.boris, boris_alert, data))
    texts = sorted(a["text"] for a in answers)
    assert sum(text.startswith("✅") for text in texts) == 1
    loser = next(a for a in answers if not a["text"].startswith("✅"))
    assert "Anna" in loser["text"] or "Boris" in loser["text"]
    await telegram.settled()
    async with sessions() as session:
        steps = (await session.scalars(select(OrderTransition).where(OrderTransition.to_status == "preparing"))).all()
    assert len(steps) == 1 and steps[0].actor_name in loser["text"]


async def test_reject_with_a_written_reason_reaches_the_customer(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await desk_bot()
    world = await open_shop(telegram, sessions)
    kim = telegram.user("Kim", language_code="en")
    order_id = await place_by_core(sessions, world, kim)
    _, boris_alert = await alerts_for(telegram, world, order_id)
    await press_and_wait(telegram, world.boris, boris_alert, boris_alert.button("Reject")["callback_data"])
    why = await last_to(telegram, world.boris, "sendMessage", "Why is order")
    assert [b["text"] for b in why.buttons] == ["Out of stock", "The store is closed", "Other reason…"]
    await press_and_wait(telegram, world.boris, why, why.button("Other")["callback_data"])
    await last_to(telegram, world.boris, "sendMessage", "Write the reason")
    await telegram.send(world.boris, "The oven is broken")
    await last_to(telegram, world.boris, "sendMessage", "Rejected")
    notice = await last_to(telegram, kim, "sendMessage", f"order #{order_id}")
    assert notice.text == (f"Sorry, the store could not take your order #{order_id}. "
                           "Reason: The oven is broken")


async def test_customer_cancels_while_pending_then_stale_and_forged_buttons_change_nothing(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await desk_bot()
    world = await open_shop(telegram, sessions)
    kim = telegram.user("Kim", language_code="en")
    first = await place_by_core(sessions, world, kim)
    second = await place_by_core(sessions, world, kim)
    await telegram.send(kim, "/start")
    menu = await last_to(telegram, kim, "sendMessage", "Hello")
    await press_and_wait(telegram, kim, menu, MenuCb(action="orders").pack())
    listing = await last_to(telegram, kim, "sendMessage", "Your orders")
    assert f"#{first} · New" in listing.text
    answer = await press_and_wait(telegram, kim, listing, f"ocx:{first}")
    assert answer["text"] == f"Order #{first} is cancelled."
    await last_to(telegram, kim, "sendMessage", f"Your order #{first} has been cancelled as you asked.")
    anna_alert, boris_alert = await alerts_for(telegram, world, second)
    for step in ("pending:preparing", "preparing:ready", "ready:completed"):
        assert (await press_and_wait(telegram, world.boris, boris_alert, f"ord:{second}:{step}"))["text"][0] == "✅"
    stale = await press_and_wait(telegram, world.anna, anna_alert, f"ord:{second}:pending:preparing")
    assert stale["show_alert"] and "Выполнен" in stale["text"] and "Boris" in stale["text"]
    late_cancel = await press_and_wait(telegram, kim, listing, f"ocx:{second}")
    assert "can no longer be cancelled" in late_cancel["text"]
    forged = await press_and_wait(telegram, world.boris, boris_alert, "ord:999999:pending:preparing")
    assert forged["text"] == "This order is not available to you."
    stranger = telegram.user("Mallory")
    await telegram.send(stranger, "/start")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == stranger.id, timeout=WAIT)
    refused = await press_and_wait(telegram, stranger, boris_alert, f"ord:{second}:ready:completed")
    assert refused["text"] == "Only the store's staff can use this button."
    garbage = await press_and_wait(telegram, world.boris, boris_alert, "ord:abc")
    assert "no longer valid" in garbage["text"]
    await telegram.settled()
    async with sessions() as session:
        statuses = dict((await session.execute(select(Order.id, Order.status))).all())
    assert statuses == {first: "cancelled", second: "completed"}


async def test_booking_in_english_with_date_time_and_party_size(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await desk_bot()
    world = await open_shop(telegram, sessions, time_zone="Europe/Moscow")  # bookings in the store's time
    eve = telegram.user("Eve", language_code="en")
    flow = await shop_to_checkout(telegram, eve, world, [])
    await press_and_wait(telegram, eve, flow, ShopCb(action="checkout").pack())
    refused = await press_and_wait(telegram, eve, flow, "okind:delivery")
    assert refused["text"] == "Add at least one item."
    await press_and_wait(telegram, eve, flow, "okind:booking")
    dates = await last_to(telegram, eve, "editMessageText", "Choose a date")
    await press_and_wait(telegram, eve, flow, dates.buttons[-1]["callback_data"])
    times = await last_to(telegram, eve, "editMessageText", "Choose a time (MSK)")
    assert times.buttons[0]["text"] == "10:00"
    await press_and_wait(telegram, eve, flow, times.buttons[-1]["callback_data"])
    await last_to(telegram, eve, "editMessageText", "How many guests")
    await press_and_wait(telegram, eve, flow, "oslot:party:4")
    await last_to(telegram, eve, "sendMessage", "Any comment")
    await telegram.send(eve, "Window table, please")
    summary = await last_to(telegram, eve, "sendMessage", "Please check your order")
    assert "Booking" in summary.text and "Party size: 4" in summary.text and "21:00 MSK" in summary.text
    await press_and_wait(telegram, eve, summary, summary.button("Confirm")["callback_data"])
    await last_to(telegram, eve, "editMessageText", "is placed")
    await telegram.settled()  # the bot answers before its transaction commits
    async with sessions() as session:
        order = await session.scalar(select(Order))
    assert order is not None and (order.kind, order.party_size, order.comment, order.language) == (
        "booking", 4, "Window table, please", "en")
    assert order.scheduled_at is not None and order.scheduled_at.astimezone(UTC).hour == 18  # 21:00 in Moscow
    boris_alert = await last_to(telegram, world.boris, "sendMessage", f"Order #{order.id}")
    assert "Booking" in boris_alert.text and "Party size: 4" in boris_alert.text
    assert "21:00 MSK" in boris_alert.text


async def test_reminder_then_escalation_reach_telegram_once_with_a_controlled_clock(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    running = await desk_bot()
    world = await open_shop(telegram, sessions)
    olga = telegram.user("Olga", language_code="en")
    async with sessions() as session, session.begin():
        session.add(Operator(email="olga@example.com", password_hash="x", display_name="Olga", role="operator",
                             telegram_user_id=olga.id))
    order_id = await place_by_core(sessions, world, telegram.user("Kim"))
    await alerts_for(telegram, world, order_id)
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    async with sessions() as session, session.begin():
        await session.execute(update(Order).values(created_at=t0))
    translator = running.desk.translator
    for minutes in (4, 5, 6):
        await run_reminders(sessions, translator, lambda m=minutes: t0 + timedelta(minutes=m))
    reminder = await last_to(telegram, world.boris, "sendMessage", "Reminder: order")
    assert reminder.button("Accept")["callback_data"] == f"ord:{order_id}:pending:preparing"
    await last_to(telegram, world.anna, "sendMessage", "Напоминание")
    for minutes in (15, 16):
        await run_reminders(sessions, translator, lambda m=minutes: t0 + timedelta(minutes=m))
    await last_to(telegram, olga, "sendMessage", f"Order #{order_id} at Pizza Roma is still not accepted")
    await asyncio.sleep(0.3)
    assert len([c for c in telegram.sent_to(world.boris.id) if "Reminder" in c.text]) == 1
    assert len(telegram.sent_to(olga.id)) == 1


async def test_product_photo_is_shown_on_request_and_a_member_can_leave(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await desk_bot()
    world = await open_shop(telegram, sessions, time_zone="Europe/Moscow")  # bookings in the store's time
    eve = telegram.user("Eve", language_code="en")
    flow = await shop_to_checkout(telegram, eve, world, [])
    page = await last_to(telegram, eve, "editMessageText", "Tap a product")
    assert [b["text"] for b in page.buttons[:3]] == ["➕ Margherita", "📷", "➕ Cola"]
    await press_and_wait(telegram, eve, flow, page.button("📷")["callback_data"])
    photo = await last_to(telegram, eve, "sendPhoto", "Margherita")
    assert photo.params["photo"] == world.pizza.photo

    await telegram.send(world.boris, "/stores")
    mine = await last_to(telegram, world.boris, "sendMessage", "Your stores")
    answer = await press_and_wait(telegram, world.boris, mine, mine.button("Leave Pizza Roma")["callback_data"])
    assert answer["text"] == "You left the store. Its orders will no longer reach you."
    order_id = await place_by_core(sessions, world, telegram.user("Kim"))
    await last_to(telegram, world.anna, "sendMessage", f"Заказ №{order_id}")
    await asyncio.sleep(0.5)
    assert not [c for c in telegram.sent_to(world.boris.id) if f"Order #{order_id}" in c.text]


async def test_an_uploaded_product_photo_is_uploaded_to_telegram_once_then_sent_by_file_id(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    running = await desk_bot()
    world = await open_shop(telegram, sessions)
    image = png()
    async with sessions() as session, session.begin():
        await photos.set_photo(session, running.desk.storage, world.store.id, world.cola.id, image, actor_id=None)
    eve = telegram.user("Eve", language_code="en")
    flow = await shop_to_checkout(telegram, eve, world, [])
    page = await last_to(telegram, eve, "editMessageText", "Tap a product")
    assert [b["text"] for b in page.buttons[:4]] == ["➕ Margherita", "📷", "➕ Cola", "📷"]
    cola_photo = ShopCb(action="photo", value=world.cola.id).pack()

    await press_and_wait(telegram, eve, flow, cola_photo)
    first = await last_to(telegram, eve, "sendPhoto", "Cola")
    assert first.files["photo"].data == image  # uploaded from the desk's store
    largest = first.result["photo"][-1]["file_id"]

    async def telegrams_copy_kept() -> bool:  # in the update's transaction: once it commits
        async with sessions() as session:
            return (await session.get(Product, world.cola.id)).photo == largest  # type: ignore[union-attr]

    await eventually(telegrams_copy_kept, timeout=WAIT)

    mark = telegram.mark()
    await press_and_wait(telegram, eve, flow, cola_photo)
    second = await telegram.wait_for_call("sendPhoto", lambda c: c.chat_id == eve.id, since=mark, timeout=WAIT)
    assert second.params["photo"] == largest and not second.files  # Telegram's copy, nothing uploaded again


async def test_an_alert_the_member_deleted_is_sent_anew_and_remembered(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from core.models import OrderAlert

    await desk_bot()
    world = await open_shop(telegram, sessions)
    order_id = await place_by_core(sessions, world, telegram.user("Kim"))
    anna_alert, boris_alert = await alerts_for(telegram, world, order_id)
    telegram.messages.pop((world.boris.id, boris_alert.result["message_id"]))  # Boris deleted it in his app
    await press_and_wait(telegram, world.anna, anna_alert, f"ord:{order_id}:pending:preparing")
    fresh = await last_to(telegram, world.boris, "sendMessage", "Accepted, preparing")
    assert fresh.result["message_id"] != boris_alert.result["message_id"]
    for _ in range(100):  # the channel records the new message right after sending it
        async with sessions() as session:
            query = select(OrderAlert.message_id).where(OrderAlert.chat_id == world.boris.id)
            if await session.scalar(query) == fresh.result["message_id"]:
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the new alert message was not remembered")
