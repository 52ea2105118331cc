"""Talk to a human: pick a topic (queue), get the one live ticket, and what was written before it."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, pending
from bot.callbacks import KbCb, MenuCb, TopicCb
from bot.channel_spec import NAME as TELEGRAM
from bot.i18n import Tr
from bot.relaying import relay_message
from bot.states import Support
from core.context import Desk
from core.kb.articles import record_feedback
from core.models import Contact, Ticket
from core.services.conversations import live_telegram_ticket
from core.services.relay import hand_off


async def offer_topics(bot: Bot, chat_id: int, session: AsyncSession, contact: Contact, state: FSMContext,
                       tr: Tr) -> None:
    live = await live_telegram_ticket(session, contact.id)
    if live is not None:
        await bot.send_message(chat_id, tr("You already have ticket #{ticket} open. Just write here: an operator "
                                           "will see it.", ticket=live.id))
        return
    await state.set_state(Support.choosing_topic)
    await bot.send_message(chat_id, tr("I will pass you to a human. What is it about?"),
                           reply_markup=keyboards.topics(tr))


async def human_command(message: Message, bot: Bot, session: AsyncSession, contact: Contact, state: FSMContext,
                        tr: Tr) -> None:
    await offer_topics(bot, message.chat.id, session, contact, state, tr)


async def human_button(callback: CallbackQuery, bot: Bot, session: AsyncSession, contact: Contact,
                       state: FSMContext, tr: Tr) -> None:
    await callback.answer()
    await offer_topics(bot, callback.from_user.id, session, contact, state, tr)


async def human_after_article(callback: CallbackQuery, callback_data: KbCb, bot: Bot, session: AsyncSession,
                              contact: Contact, state: FSMContext, tr: Tr) -> None:
    await record_feedback(session, article_id=callback_data.article_id, contact_id=contact.id, helpful=False)
    await callback.answer()
    await offer_topics(bot, callback.from_user.id, session, contact, state, tr)


async def topic_chosen(callback: CallbackQuery, callback_data: TopicCb, bot: Bot, desk: Desk,
                       session: AsyncSession, contact: Contact, state: FSMContext, tr: Tr) -> None:
    earlier = await pending.take(state, bot)
    ticket, created = await hand_off(session, contact, callback_data.queue, pending.subject_of(earlier),
                                      channel=TELEGRAM)
    await state.set_state(None)
    await callback.answer()
    chat_id = callback.from_user.id
    if not created:
        await bot.send_message(chat_id, tr("You already have ticket #{ticket} open. Just write here: an operator "
                                           "will see it.", ticket=ticket.id))
    for message in earlier:
        await relay_message(bot, desk, session, contact, ticket, message, tr)
    if created:
        await bot.send_message(chat_id, tr("Ticket #{ticket} is open. {eta} Write here: everything you send goes "
                                           "to the operator.", ticket=ticket.id, eta=expected_answer(ticket, tr)),
                               reply_markup=keyboards.ticket_actions(tr, ticket.id))


def expected_answer(ticket: Ticket, tr: Tr) -> str:
    if ticket.frt_due_at is None:
        return tr("An operator usually answers within a few hours.")
    minutes = max(1, int((ticket.frt_due_at - datetime.now(UTC)).total_seconds() // 60))
    if minutes < 120:
        return tr("An operator will answer within about {n} min.", n=minutes)
    return tr("An operator will answer within about {n} h.", n=minutes // 60)


def create_router() -> Router:
    router = Router(name="handoff")
    router.message.register(human_command, Command("human", "operator"))
    router.callback_query.register(human_button, MenuCb.filter(F.action == "human"))
    router.callback_query.register(human_after_article, KbCb.filter(F.action == "human"))
    router.callback_query.register(topic_chosen, TopicCb.filter(F.queue.in_({slug for slug, _ in keyboards.TOPICS})))
    return router
