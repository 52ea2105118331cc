"""Closing by the customer (/close or the button), the 1-5 rating and its optional comment."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import CloseCb, RateCb
from bot.i18n import Tr
from bot.states import Support
from core.errors import NotAllowed, NotFound
from core.models import Contact
from core.services.conversations import live_telegram_ticket
from core.services.support import close_by_customer, comment_rating, rate_ticket


async def close_command(message: Message, session: AsyncSession, contact: Contact, tr: Tr) -> None:
    if await close_by_customer(session, contact) is None:
        await message.answer(tr("You have no open ticket."))
    # closed: the closing notice with the rating buttons comes through the outbox


async def close_button(callback: CallbackQuery, callback_data: CloseCb, session: AsyncSession, contact: Contact,
                       tr: Tr) -> None:
    live = await live_telegram_ticket(session, contact.id)
    if live is None or live.id != callback_data.ticket_id:
        await callback.answer(tr("This ticket is already closed."), show_alert=True)
        return
    await close_by_customer(session, contact)
    await callback.answer()


async def rate(callback: CallbackQuery, callback_data: RateCb, bot: Bot, session: AsyncSession, contact: Contact,
               state: FSMContext, tr: Tr) -> None:
    if callback_data.score == 0:
        await state.set_state(None)
        await callback.answer(tr("Thank you for the rating!"))
        return
    try:
        await rate_ticket(session, contact_id=contact.id, ticket_id=callback_data.ticket_id,
                          score=callback_data.score)
    except (NotFound, NotAllowed):
        await callback.answer(tr("This ticket can no longer be rated."), show_alert=True)
        return
    await state.set_state(Support.rating_comment)
    await state.update_data(comment_ticket=callback_data.ticket_id)
    await callback.answer(tr("Thank you for the rating!"))
    await bot.send_message(callback.from_user.id, tr("Thanks for the {score}/5! Anything to add? Write a comment "
                                                     "or press Skip.", score=callback_data.score),
                           reply_markup=keyboards.skip_comment(tr, callback_data.ticket_id))


async def rating_comment(message: Message, session: AsyncSession, contact: Contact, state: FSMContext,
                         tr: Tr) -> None:
    ticket_id = (await state.get_data()).get("comment_ticket")
    await state.set_state(None)
    if not isinstance(ticket_id, int):
        return
    try:
        await comment_rating(session, contact_id=contact.id, ticket_id=ticket_id, comment=message.text or "")
    except (NotFound, NotAllowed):
        await message.answer(tr("This ticket can no longer be rated."))
        return
    await message.answer(tr("Thank you for the feedback!"))


def create_router() -> Router:
    router = Router(name="closing")
    router.message.register(close_command, Command("close"))
    router.callback_query.register(close_button, CloseCb.filter())
    router.callback_query.register(rate, RateCb.filter(F.score.in_({0, 1, 2, 3, 4, 5})))
    router.message.register(rating_comment, Support.rating_comment, F.text, ~F.text.startswith("/"))
    return router
