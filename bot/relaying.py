"""Customer -> desk: parse, fetch files, store through core, tell the customer what could not be
taken, alert operators when nobody is online."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import alert_offline_operators
from bot.i18n import Tr
from bot.inbound import TOO_BIG, to_inbound
from bot.render import esc
from core.context import Desk
from core.models import Contact, Ticket
from core.models import Message as StoredMessage
from core.services.relay import relay_inbound


async def relay_message(bot: Bot, desk: Desk, session: AsyncSession, contact: Contact, ticket: Ticket,
                        message: Message, tr: Tr) -> StoredMessage | None:
    inbound = await to_inbound(bot, desk.storage, message)
    stored = await relay_inbound(session, ticket, inbound)
    for item in inbound.attachments:
        if item.problem == TOO_BIG:
            await message.answer(tr("The file {name} is larger than 20 MB, which Telegram does not let bots "
                                    "download. Your message is saved; please send a smaller file or a link.",
                                    name=esc(item.file_name)))
        elif item.problem:
            await message.answer(tr("The file {name} was not accepted (type or size). Your message is saved; "
                                    "please send a PDF, an image or a document instead.", name=esc(item.file_name)))
    if inbound.kind == "unsupported":
        await message.answer(tr("This kind of message cannot be passed to an operator. Please send text, a photo "
                                "or a file."))
    if stored is not None and stored.external_key == inbound.external_key and stored.author_kind == "customer":
        await alert_offline_operators(session, desk, ticket, contact, stored)
    return stored
