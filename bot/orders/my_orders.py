"""My orders: the customer's recent orders with their statuses; a pending one can be cancelled."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCb
from bot.i18n import Tr
from bot.orders.callbacks import CancelOrderCb
from bot.orders.customer import edit_in_place, stale
from core.context import Desk
from core.errors import DeskError, NotAllowed, NotFound
from core.models import Contact
from core.orders import queries
from core.orders.actors import customer
from core.orders.errors import AlreadyChanged
from core.orders.money import format_money
from core.orders.render import status_label
from core.orders.transitions import change_status


async def my_orders(callback: CallbackQuery, session: AsyncSession, contact: Contact, desk: Desk, tr: Tr) -> None:
    await callback.answer()
    text, markup = await _orders_view(session, contact, desk, tr)
    await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]


async def _orders_view(session: AsyncSession, contact: Contact, desk: Desk,
                       tr: Tr) -> tuple[str, InlineKeyboardMarkup | None]:
    orders = await queries.customer_orders(session, contact.id)
    if not orders:
        return tr("You have no orders yet."), None
    lines, rows = [tr("Your orders:")], []
    for order in orders:
        label = status_label(desk.translator, tr.language, order.status)
        lines.append(f"#{order.id} · {label} · {format_money(order.total_minor, order.currency)}")
        if order.status == "pending":
            rows.append([InlineKeyboardButton(text=tr("Cancel order #{number}", number=order.id),
                                              callback_data=CancelOrderCb(order_id=order.id).pack())])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def cancel_order(callback: CallbackQuery, callback_data: CancelOrderCb, session: AsyncSession,
                       contact: Contact, desk: Desk, tr: Tr) -> None:
    try:
        async with session.begin_nested():
            await change_status(session, desk.translator, order_id=callback_data.order_id, new_status="cancelled",
                                actor=customer(contact), expected="pending")
    except (AlreadyChanged, NotAllowed):
        await callback.answer(tr("The store has already taken this order; it can no longer be cancelled here."),
                              show_alert=True)
        return
    except NotFound:
        await callback.answer(tr("There is no such order."), show_alert=True)
        return
    except DeskError:
        await stale(callback, tr)
        return
    await callback.answer(tr("Order #{number} is cancelled.", number=callback_data.order_id))
    await edit_in_place(callback, *await _orders_view(session, contact, desk, tr))


def create_router() -> Router:
    router = Router(name="orders_my_orders")
    router.callback_query.register(my_orders, MenuCb.filter(F.action == "orders"))
    router.callback_query.register(cancel_order, CancelOrderCb.filter())
    return router
