"""Every other customer message: relayed into a live (or just reopened) ticket; otherwise intents,
then the knowledge base. Edits update the stored message."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, pending
from bot.answers import send_search_result
from bot.channel_spec import NAME as TELEGRAM
from bot.handlers.handoff import offer_topics
from bot.i18n import Tr
from bot.inbound import album_key, message_key
from bot.relaying import relay_message
from bot.render import esc
from bot.states import Support
from core.context import Desk
from core.i18n import N_
from core.intents import Intents
from core.kb.search import MAX_QUERY, find_answer
from core.models import Contact
from core.services.conversations import edit_customer_message
from core.services.order_lookup import order_status_for_contact
from core.services.support import count_message, ticket_for_message

ORDER_NUMBER = re.compile(r"#?\s*([A-Za-z0-9][A-Za-z0-9-]{0,31})")
ORDER_STATUSES = {
    "pending": N_("Order {number} is waiting to be accepted."),
    "preparing": N_("Order {number} is being prepared."),
    "ready": N_("Order {number} is ready."),
    "delivering": N_("Order {number} is on its way."),
    "completed": N_("Order {number} is completed."),
    "rejected": N_("Order {number} was rejected."),
    "cancelled": N_("Order {number} was cancelled."),
}


async def on_message(message: Message, bot: Bot, desk: Desk, session: AsyncSession, contact: Contact,
                     state: FSMContext, intents: Intents, tr: Tr) -> None:
    flood = await count_message(session, contact.id, desk.settings.customer_rate_per_minute)
    if flood.notify:
        await message.answer(tr("You are writing faster than we can read. Every message is kept; please give us "
                                "a moment."))
    ticket, reopened = await ticket_for_message(session, contact, TELEGRAM, desk.settings.reopen_window_hours)
    if ticket is not None:
        await relay_message(bot, desk, session, contact, ticket, message, tr)
        if reopened:
            await message.answer(tr("Your ticket #{ticket} is open again: an operator will see your message.",
                                    ticket=ticket.id), reply_markup=keyboards.ticket_actions(tr, ticket.id))
        return
    await pending.remember(state, message)
    if flood.over:
        return
    text = message.text
    if text is None:
        await offer_topics(bot, message.chat.id, session, contact, state, tr)
        return
    intent = intents.match(text)
    if intent == "human":
        await offer_topics(bot, message.chat.id, session, contact, state, tr)
    elif intent == "order_status":
        await state.set_state(Support.order_number)
        await message.answer(tr("Send me the order number, for example 1042."))
    elif len(text) > MAX_QUERY:
        await message.answer(tr("That is a detailed question: a human will answer it best."))
        await offer_topics(bot, message.chat.id, session, contact, state, tr)
    else:
        result = await find_answer(session, text, tr.language)
        await send_search_result(bot, session, message.chat.id, tr, result)


async def while_choosing_topic(message: Message, state: FSMContext, tr: Tr) -> None:
    await pending.remember(state, message)
    await message.answer(tr("Got it, I will pass this on too. Please choose a topic first:"),
                         reply_markup=keyboards.topics(tr))


async def order_number(message: Message, session: AsyncSession, contact: Contact, state: FSMContext,
                       tr: Tr) -> None:
    match = ORDER_NUMBER.fullmatch((message.text or "").strip())
    if match is None:
        await message.answer(tr("That does not look like an order number. Send just the number, for example 1042."))
        return
    await state.set_state(None)
    number = match.group(1)
    found = await order_status_for_contact(session, contact.id, number)
    if found is None:
        await message.answer(tr("I could not find order {number} among your orders.", number=esc(number)))
        return
    template = ORDER_STATUSES.get(found.status, N_("Order {number}: {status}."))
    await message.answer(tr(template, number=esc(found.number), status=esc(found.status)))


async def on_edit(edited: Message, session: AsyncSession) -> None:
    key = (album_key(edited.chat.id, edited.media_group_id) if edited.media_group_id
           else message_key(edited.chat.id, edited.message_id))
    await edit_customer_message(session, key, edited.text or edited.caption or "")


def create_router() -> Router:
    router = Router(name="conversation")
    router.message.register(order_number, Support.order_number, F.text, ~F.text.startswith("/"))
    router.message.register(while_choosing_topic, Support.choosing_topic, ~F.text.startswith("/"))
    router.message.register(on_message, F.chat.type == "private", ~F.text.startswith("/"))
    router.edited_message.register(on_edit, F.chat.type == "private")
    return router
