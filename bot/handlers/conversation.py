"""Every other customer message goes to core's dialogue (live ticket, reopen, intents, knowledge base,
a step in progress); edits update the stored message."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_spec import NAME as TELEGRAM
from bot.dialogue import incoming, show
from bot.inbound import album_key, message_key
from core.dialogue import Dialogue
from core.models import Contact
from core.services.conversations import edit_customer_message


async def on_message(message: Message, bot: Bot, session: AsyncSession, contact: Contact,
                     dialogue: Dialogue) -> None:
    answers = await dialogue.message(session, contact, TELEGRAM, incoming(message))
    await show(bot, message.chat.id, answers)


async def on_edit(edited: Message, session: AsyncSession) -> None:
    key = (album_key(edited.chat.id, edited.media_group_id) if edited.media_group_id
           else message_key(edited.chat.id, edited.message_id))
    await edit_customer_message(session, key, edited.text or edited.caption or "")


def create_router() -> Router:
    router = Router(name="conversation")
    router.message.register(on_message, F.chat.type == "private", ~F.text.startswith("/"))
    router.edited_message.register(on_edit, F.chat.type == "private")
    return router
