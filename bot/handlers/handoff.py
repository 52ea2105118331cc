"""Talk to a human: /human, the menu's button, "this did not help", and the topic (queue) chosen.
Core's dialogue opens the one live ticket with what was said before it."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import KbCb, MenuCb, TopicCb
from bot.channel_spec import NAME as TELEGRAM
from bot.dialogue import kb_action, menu_action, show
from core.dialogue import Action, Dialogue
from core.dialogue import answers as a
from core.dialogue.service import TOPIC_SLUGS
from core.models import Contact, ContactIdentity


async def human_command(message: Message, bot: Bot, session: AsyncSession, contact: Contact,
                        dialogue: Dialogue) -> None:
    await show(bot, message.chat.id, await dialogue.human(session, contact, TELEGRAM))


async def human_button(callback: CallbackQuery, callback_data: MenuCb, bot: Bot, session: AsyncSession,
                       contact: Contact, dialogue: Dialogue) -> None:
    answers = await dialogue.action(session, contact, TELEGRAM, menu_action(callback_data))
    await show(bot, callback.from_user.id, answers, callback)


async def human_after_article(callback: CallbackQuery, callback_data: KbCb, bot: Bot, session: AsyncSession,
                              contact: Contact, dialogue: Dialogue) -> None:
    answers = await dialogue.action(session, contact, TELEGRAM, kb_action(callback_data))
    await show(bot, callback.from_user.id, answers, callback)


async def topic_chosen(callback: CallbackQuery, callback_data: TopicCb, bot: Bot, session: AsyncSession,
                       contact: Contact, identity: ContactIdentity, dialogue: Dialogue) -> None:
    """The ticket opens on the Telegram identity the customer pressed the button from."""
    answers = await dialogue.action(session, contact, TELEGRAM, Action(a.TOPIC, (callback_data.queue,)),
                                    identity=identity)
    await show(bot, callback.from_user.id, answers, callback)


def create_router() -> Router:
    router = Router(name="handoff")
    router.message.register(human_command, Command("human", "operator"))
    router.callback_query.register(human_button, MenuCb.filter(F.action == "human"))
    router.callback_query.register(human_after_article, KbCb.filter(F.action == "human"))
    router.callback_query.register(topic_chosen, TopicCb.filter(F.queue.in_(TOPIC_SLUGS)))
    return router
