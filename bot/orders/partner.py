"""Store staff in Telegram: join by invite link, act on alerts, reject with a reason, leave."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Tr
from bot.orders.callbacks import LeaveStoreCb, OrderActionCb, RejectReasonCb
from bot.orders.states import Rejecting
from bot.render import esc
from core.context import Desk
from core.errors import InvalidInput, NotAllowed, NotFound, TransitionNotAllowed
from core.models import Store
from core.orders import actors, staff
from core.orders.errors import AlreadyChanged, InviteInvalid
from core.orders.render import status_label
from core.orders.statuses import REJECT_REASONS
from core.orders.transitions import change_status
from core.services.contacts import TelegramProfile

log = logging.getLogger(__name__)


async def join(message: Message, command: CommandObject, session: AsyncSession, tr: Tr) -> None:
    user = message.from_user
    assert user is not None
    token = (command.args or "")[len(staff.INVITE_PREFIX):]
    try:
        async with session.begin_nested():
            store, _member = await staff.join_with_invite(session, token, TelegramProfile(
                user_id=user.id, first_name=user.first_name, last_name=user.last_name, username=user.username,
                language_code=user.language_code))
    except InviteInvalid:
        await message.answer(tr("This invite link is invalid, used or expired. Ask the store for a new one."))
        return
    await message.answer(tr("You are now on the staff of {store}. New orders will arrive here.",
                            store=esc(store.name)))


async def act(callback: CallbackQuery, callback_data: OrderActionCb, session: AsyncSession, desk: Desk,
              state: FSMContext, tr: Tr) -> None:
    actor = await actors.for_telegram_user(session, callback.from_user.id)
    if actor is None:
        await callback.answer(tr("Only the store's staff can use this button."), show_alert=True)
        return
    if callback_data.target == "rejected":
        await _ask_reason(callback, callback_data, state, tr)
        return
    await _move(callback, session, desk, tr, actor, callback_data.order_id, callback_data.target,
                callback_data.current, None)


async def _ask_reason(callback: CallbackQuery, data: OrderActionCb, state: FSMContext, tr: Tr) -> None:
    rows = [[InlineKeyboardButton(text=tr(label), callback_data=RejectReasonCb(order_id=data.order_id,
                                                                               reason=code).pack())]
            for code, label in REJECT_REASONS.items()]
    rows.append([InlineKeyboardButton(text=tr("Other reason…"),
                                      callback_data=RejectReasonCb(order_id=data.order_id, reason="other").pack())])
    await callback.answer()
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id, tr("Why is order #{number} rejected?", number=data.order_id),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def reject_reason(callback: CallbackQuery, callback_data: RejectReasonCb, session: AsyncSession, desk: Desk,
                        state: FSMContext, tr: Tr) -> None:
    actor = await actors.for_telegram_user(session, callback.from_user.id)
    if actor is None:
        await callback.answer(tr("Only the store's staff can use this button."), show_alert=True)
        return
    if callback_data.reason == "other":
        await state.set_state(Rejecting.reason)
        await state.update_data(reject_order=callback_data.order_id)
        await callback.answer()
        await callback.bot.send_message(callback.from_user.id,  # type: ignore[union-attr]
                                        tr("Write the reason in one message."))
        return
    if callback_data.reason not in REJECT_REASONS:
        await callback.answer(tr("This button is no longer valid."), show_alert=True)
        return
    await _move(callback, session, desk, tr, actor, callback_data.order_id, "rejected", "pending",
                callback_data.reason)


async def reject_reason_text(message: Message, session: AsyncSession, desk: Desk, state: FSMContext, tr: Tr) -> None:
    data = await state.get_data()
    await state.set_state(None)
    actor = await actors.for_telegram_user(session, message.chat.id)
    order_id = int(data.get("reject_order") or 0)
    if actor is None or not order_id:
        await message.answer(tr("This button is no longer valid."))
        return
    answer = await _transition(session, desk, tr, actor, order_id, "rejected", "pending", message.text)
    await message.answer(answer)


async def _move(callback: CallbackQuery, session: AsyncSession, desk: Desk, tr: Tr, actor: actors.Actor,
                order_id: int, target: str, expected: str, reason: str | None) -> None:
    answer = await _transition(session, desk, tr, actor, order_id, target, expected, reason)
    await callback.answer(answer, show_alert=not answer.startswith("✅"))


async def _transition(session: AsyncSession, desk: Desk, tr: Tr, actor: actors.Actor, order_id: int, target: str,
                      expected: str, reason: str | None) -> str:
    """The one place a staff press becomes a transition; every refusal is a short clear answer."""
    try:
        async with session.begin_nested():  # a refusal undoes nothing else of this update
            order = await change_status(session, desk.translator, order_id=order_id, new_status=target,
                                        actor=actor, reason=reason, expected=expected)
    except AlreadyChanged as exc:
        return tr("Order #{number} is already “{status}” ({name}).", number=order_id,
                  status=status_label(desk.translator, tr.language, exc.status), name=exc.by or "—")
    except NotFound:
        return tr("This order is not available to you.")
    except TransitionNotAllowed:
        return tr("This action is no longer possible for the order.")
    except InvalidInput:
        return tr("Please give a reason (up to 500 characters).")
    except NotAllowed:
        return tr("Only the store's staff can use this button.")
    log.info("order moved from telegram", extra={"order": order_id, "to": target})
    return "✅ " + tr("Order #{number}: {status}", number=order.id,
                      status=status_label(desk.translator, tr.language, order.status))


async def my_stores(message: Message, session: AsyncSession, tr: Tr) -> None:
    memberships = await staff.memberships(session, message.chat.id)
    if not memberships:
        await message.answer(tr("You are not on the staff of any store."))
        return
    rows = []
    for member in memberships:
        store = await session.get(Store, member.store_id)
        name = store.name if store else str(member.store_id)
        rows.append([InlineKeyboardButton(text=tr("Leave {store}", store=name),
                                          callback_data=LeaveStoreCb(store_id=member.store_id).pack())])
    await message.answer(tr("Your stores:"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def leave(callback: CallbackQuery, callback_data: LeaveStoreCb, session: AsyncSession, tr: Tr) -> None:
    try:
        async with session.begin_nested():
            await staff.leave_store(session, callback_data.store_id, callback.from_user.id)
    except NotFound:
        await callback.answer(tr("You are not on the staff of this store."), show_alert=True)
        return
    await callback.answer(tr("You left the store. Its orders will no longer reach you."), show_alert=True)


def create_router() -> Router:
    router = Router(name="orders_partner")
    router.message.register(join, CommandStart(deep_link=True, magic=F.args.startswith(staff.INVITE_PREFIX)))
    router.message.register(my_stores, Command("stores"))
    router.message.register(reject_reason_text, Rejecting.reason, F.text, ~F.text.startswith("/"))
    router.callback_query.register(act, OrderActionCb.filter())
    router.callback_query.register(reject_reason, RejectReasonCb.filter())
    router.callback_query.register(leave, LeaveStoreCb.filter())
    return router
