"""A customer orders in the bot: store → products and cart (one message) → delivery, pickup or
booking → details → summary → confirm; "My orders" lists them and cancels a pending one."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, tzinfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCb
from bot.i18n import Tr
from bot.orders import cart, checkout
from bot.orders.callbacks import FlowCb, KindCb, ShopCb, SlotCb
from bot.orders.states import Ordering
from bot.render import esc
from core.context import Desk
from core.errors import NotFound
from core.models import Contact, Product, Store
from core.orders import photos, stores
from core.orders.actors import customer
from core.orders.errors import OrderInvalid
from core.orders.intake import body_digest, place_once
from core.orders.money import format_money
from core.orders.placing import DraftItem, OrderDraft
from core.orders.statuses import ORDER_KINDS
from core.orders.stores import zone_of
from core.orders.validation import ERROR_MESSAGES, MAX_TEXT, phone_error

log = logging.getLogger(__name__)


async def edit_in_place(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Re-render the message the button sits under; an identical render is not an error."""
    message = callback.message
    assert message is not None
    try:
        await callback.bot.edit_message_text(text=text, chat_id=message.chat.id,  # type: ignore[union-attr]
                                             message_id=message.message_id, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def stale(callback: CallbackQuery, tr: Tr) -> None:
    await callback.answer(tr("This button is no longer valid. Send /start for the menu."), show_alert=True)


async def choose_store(callback: CallbackQuery, session: AsyncSession, tr: Tr) -> None:
    open_stores = await stores.open_stores(session)
    await callback.answer()
    if not open_stores:
        await callback.bot.send_message(callback.from_user.id, tr("No store takes orders right now."))  # type: ignore[union-attr]
        return
    rows = [[InlineKeyboardButton(text=s.name, callback_data=ShopCb(action="store", value=s.id).pack())]
            for s in open_stores]
    await callback.bot.send_message(callback.from_user.id, tr("Choose a store:"),  # type: ignore[union-attr]
                                    reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def shop(callback: CallbackQuery, callback_data: ShopCb, session: AsyncSession, state: FSMContext,
               bot: Bot, desk: Desk, tr: Tr) -> None:
    action = callback_data.action
    if action == "store":
        await state.set_state(Ordering.shopping)
        await state.set_data({"store_id": callback_data.value, "cart": {}, "page": 0})
    data = await state.get_data()
    store = await session.get(Store, int(data.get("store_id") or 0))
    if store is None or not store.is_active or await state.get_state() is None:
        await stale(callback, tr)
        return
    products = await stores.catalogue(session, store.id)
    if action == "abort":
        await state.clear()
        await callback.answer()
        await edit_in_place(callback, tr("The order is cancelled. Send /start for the menu."), None)
        return
    if action == "photo":
        await _photo(callback, bot, desk, products, callback_data.value)
        return
    if action == "checkout":
        await callback.answer()
        await edit_in_place(callback, tr("How would you like to get it?"), checkout.kinds(tr))
        return
    if action in ("add", "inc") and callback_data.value not in {p.id for p in products}:
        await callback.answer(tr("This product is not available now."), show_alert=True)
        return
    if action == "page":
        data["page"] = callback_data.value
    elif action != "store":
        data["cart"] = cart.change(data.get("cart", {}), action, callback_data.value)
    await state.set_data(data)
    await callback.answer()
    await edit_in_place(callback, *cart.render(tr, store, products, data["cart"], int(data.get("page", 0))))


async def _photo(callback: CallbackQuery, bot: Bot, desk: Desk, products: Sequence[Product], product_id: int) -> None:
    """Telegram's copy when there is one (a file id or URL); else the uploaded file, whose Telegram
    file id is kept for the next time (in this update's transaction)."""
    product = next((p for p in products if p.id == product_id and (p.photo or p.photo_key)), None)
    await callback.answer()
    if product is None:
        return
    if product.photo:
        await bot.send_photo(callback.from_user.id, product.photo, caption=esc(product.name))
        return
    try:
        key, _ = await photos.photo_file(desk.storage, product)
        data = await desk.storage.read(key)
    except (NotFound, OSError):
        log.warning("product photo file missing", extra={"product": product.id})
        return
    sent = await bot.send_photo(callback.from_user.id, BufferedInputFile(data, f"product-{product.id}"),
                                caption=esc(product.name))
    if sent.photo:
        photos.keep_telegram_copy(product, sent.photo[-1].file_id)  # the largest size Telegram made


async def _zone(session: AsyncSession, data: dict) -> tzinfo:  # type: ignore[type-arg]
    """The chosen store's local time: bookings are picked in it."""
    store = await session.get(Store, int(data.get("store_id") or 0))
    return zone_of(store) if store is not None else UTC


async def choose_kind(callback: CallbackQuery, callback_data: KindCb, session: AsyncSession, state: FSMContext,
                      tr: Tr) -> None:
    data = await state.get_data()
    if await state.get_state() != Ordering.shopping.state or callback_data.kind not in ORDER_KINDS:
        await stale(callback, tr)
        return
    if callback_data.kind != "booking" and not data.get("cart"):
        await callback.answer(tr("Add at least one item."), show_alert=True)
        return
    await state.update_data(kind=callback_data.kind)
    await callback.answer()
    user_id = callback.from_user.id
    if callback_data.kind == "delivery":
        await state.set_state(Ordering.address)
        await callback.bot.send_message(user_id, tr("Send the delivery address in one message."))  # type: ignore[union-attr]
    elif callback_data.kind == "pickup":
        await _ask_phone(callback.bot, user_id, state, tr)  # type: ignore[arg-type]
    else:
        await state.set_state(Ordering.booking)
        zone = await _zone(session, data)
        await edit_in_place(callback, tr("Choose a date:"), checkout.dates(datetime.now(UTC), zone))


async def _ask_phone(bot: Bot, chat_id: int, state: FSMContext, tr: Tr) -> None:
    await state.set_state(Ordering.phone)
    await bot.send_message(chat_id, tr("Share your phone number with the button below, or type it."),
                           reply_markup=checkout.phone_request(tr))


async def got_address(message: Message, bot: Bot, state: FSMContext, tr: Tr) -> None:
    address = (message.text or "").strip()
    if not address or len(address) > MAX_TEXT["address"]:
        await message.answer(tr("Please send the address as text, up to 500 characters."))
        return
    await state.update_data(address=address)
    await _ask_phone(bot, message.chat.id, state, tr)


async def got_phone(message: Message, state: FSMContext, tr: Tr) -> None:
    phone = message.contact.phone_number if message.contact is not None else (message.text or "").strip()
    if not phone or phone_error(phone):
        problem = ERROR_MESSAGES["bad_phone"]
        await message.answer(tr(problem))
        return
    await state.update_data(phone=phone)
    await message.answer(tr("Thank you."), reply_markup=ReplyKeyboardRemove())
    await _ask_comment(message.bot, message.chat.id, state, tr)  # type: ignore[arg-type]


async def _ask_comment(bot: Bot, chat_id: int, state: FSMContext, tr: Tr) -> None:
    await state.set_state(Ordering.comment)
    await bot.send_message(chat_id, tr("Any comment for the store? Send it, or press Skip."),
                           reply_markup=checkout.skip(tr))


async def booking_slot(callback: CallbackQuery, callback_data: SlotCb, session: AsyncSession, state: FSMContext,
                       tr: Tr) -> None:
    if await state.get_state() != Ordering.booking.state:
        await stale(callback, tr)
        return
    now = datetime.now(UTC)
    data = await state.get_data()
    zone = await _zone(session, data)
    await callback.answer()
    try:
        if callback_data.field == "date":
            day = date.fromisoformat(callback_data.value)
            await state.update_data(date=day.isoformat())
            zone_name = datetime.combine(day, time(12), zone).tzname()
            await edit_in_place(callback, tr("Choose a time ({zone}):", zone=zone_name),
                                checkout.times(day, now, zone))
        elif callback_data.field == "time":
            slot = f"{callback_data.value[:2]}:{callback_data.value[2:]}"
            if checkout.booking_moment(date.fromisoformat(data["date"]), slot, zone) <= now:
                raise ValueError("past")
            await state.update_data(time=slot)
            await edit_in_place(callback, tr("How many guests?"), checkout.party())
        elif callback_data.field == "party":
            await state.update_data(party=int(callback_data.value))
            when = checkout.booking_moment(date.fromisoformat(data["date"]), data["time"], zone)
            text = tr("Booking for {count} on {day} at {time} ({zone}).", count=int(callback_data.value),
                      day=data["date"], time=data["time"], zone=when.tzname())
            await edit_in_place(callback, text, None)
            await _ask_comment(callback.bot, callback.from_user.id, state, tr)  # type: ignore[arg-type]
    except (KeyError, ValueError):
        await edit_in_place(callback, tr("That time is not available. Choose a date:"), checkout.dates(now, zone))


async def got_comment(message: Message, session: AsyncSession, state: FSMContext, tr: Tr) -> None:
    comment = (message.text or "").strip()
    if len(comment) > MAX_TEXT["comment"]:
        problem = ERROR_MESSAGES["too_long"]
        await message.answer(tr(problem))
        return
    await state.update_data(comment=comment)
    await _show_summary(message.bot, message.chat.id, session, state, tr)  # type: ignore[arg-type]


async def skip_comment(callback: CallbackQuery, session: AsyncSession, state: FSMContext, tr: Tr) -> None:
    if await state.get_state() != Ordering.comment.state:
        await stale(callback, tr)
        return
    await callback.answer()
    await state.update_data(comment="")
    await _show_summary(callback.bot, callback.from_user.id, session, state, tr)  # type: ignore[arg-type]


async def _show_summary(bot: Bot, chat_id: int, session: AsyncSession, state: FSMContext, tr: Tr) -> None:
    data = await state.get_data()
    store = await session.get(Store, int(data.get("store_id") or 0))
    if store is None:
        await state.clear()
        await bot.send_message(chat_id, tr("This store is not taking orders now."))
        return
    products = await stores.catalogue(session, store.id)
    await state.set_state(Ordering.confirming)
    await state.update_data(draft_key=secrets.token_hex(8))
    data = await state.get_data()
    await bot.send_message(chat_id, checkout.summary(tr, store, products, data), reply_markup=checkout.confirm(tr))


async def finish(callback: CallbackQuery, callback_data: FlowCb, session: AsyncSession, state: FSMContext,
                 desk: Desk, contact: Contact, tr: Tr) -> None:
    if await state.get_state() != Ordering.confirming.state:
        await stale(callback, tr)
        return
    data = await state.get_data()
    await state.clear()
    await callback.answer()
    if callback_data.action != "confirm":
        await edit_in_place(callback, tr("The order is cancelled. Send /start for the menu."), None)
        return
    key = f"tg:{callback.from_user.id}:{data.get('draft_key', '')}"  # a double press places one order
    try:
        async with session.begin_nested():
            draft = _draft(data, contact, tr.language, await _zone(session, data))
            order, _created = await place_once(session, desk.translator, draft,
                                               customer(contact), key=key, digest=body_digest(data))
    except OrderInvalid as exc:
        problems = "\n".join(f"• {tr(ERROR_MESSAGES.get(code, ERROR_MESSAGES['bad_type']))}"
                             for code in exc.errors.values())
        await edit_in_place(callback, tr("The order could not be placed:") + "\n" + problems, None)
        return
    log.info("order placed from telegram", extra={"order": order.id})
    text = tr("Order #{number} is placed! Total: {amount}. We will tell you when the store accepts it.",
              number=order.id, amount=format_money(order.total_minor, order.currency))
    await edit_in_place(callback, text, None)


def _draft(data: dict, contact: Contact, language: str, zone: tzinfo) -> OrderDraft:  # type: ignore[type-arg]
    when = None
    if data.get("date") and data.get("time"):
        when = checkout.booking_moment(date.fromisoformat(data["date"]), data["time"], zone)
    return OrderDraft(
        store_id=int(data["store_id"]), kind=data["kind"],
        items=tuple(DraftItem(int(pid), int(qty)) for pid, qty in data.get("cart", {}).items()),
        customer_name=(contact.name or f"#{contact.id}")[:128], customer_phone=data.get("phone", ""),
        address=data.get("address", ""), comment=data.get("comment", ""), scheduled_at=when,
        party_size=data.get("party"), language=language, source="telegram",
    )


def create_router() -> Router:
    router = Router(name="orders_customer")
    router.callback_query.register(choose_store, MenuCb.filter(F.action == "order"))
    router.callback_query.register(shop, ShopCb.filter())
    router.callback_query.register(choose_kind, KindCb.filter())
    router.callback_query.register(booking_slot, SlotCb.filter())
    router.callback_query.register(skip_comment, FlowCb.filter(F.action == "skip"))
    router.callback_query.register(finish, FlowCb.filter())
    router.message.register(got_address, Ordering.address, F.text, ~F.text.startswith("/"))
    router.message.register(got_phone, Ordering.phone, F.contact | (F.text & ~F.text.startswith("/")))
    router.message.register(got_comment, Ordering.comment, F.text, ~F.text.startswith("/"))
    return router
