"""Closing by the customer (/close or the button), the 1-5 rating; core's dialogue decides, the
rating comment arrives as an ordinary message (the dialogue knows it is waiting for one)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CloseCb, RateCb
from bot.channel_spec import NAME as TELEGRAM
from bot.dialogue import show
from core.dialogue import Action, Dialogue
from core.dialogue import answers as a
from core.models import Contact


async def close_command(message: Message, bot: Bot, session: AsyncSession, contact: Contact,
                        dialogue: Dialogue) -> None:
    await show(bot, message.chat.id, await dialogue.close(session, contact, TELEGRAM))
    # closed: the closing notice with the rating buttons comes through the outbox


async def close_button(callback: CallbackQuery, callback_data: CloseCb, bot: Bot, session: AsyncSession,
                       contact: Contact, dialogue: Dialogue) -> None:
    answers = await dialogue.action(session, contact, TELEGRAM, Action(a.CLOSE, (callback_data.ticket_id,)))
    await show(bot, callback.from_user.id, answers, callback)


async def rate(callback: CallbackQuery, callback_data: RateCb, bot: Bot, session: AsyncSession, contact: Contact,
               dialogue: Dialogue) -> None:
    action = Action(a.RATE, (callback_data.ticket_id, callback_data.score))
    await show(bot, callback.from_user.id, await dialogue.action(session, contact, TELEGRAM, action), callback)


def create_router() -> Router:
    router = Router(name="closing")
    router.message.register(close_command, Command("close"))
    router.callback_query.register(close_button, CloseCb.filter())
    router.callback_query.register(rate, RateCb.filter(F.score.in_({0, 1, 2, 3, 4, 5})))
    return router
