"""In a forum supergroup: `/link_staff_group [queue]` (an admin makes it the staff group), messages in
a ticket's topic (a reply to the customer, or a note with /note or !), the card's buttons."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Tr
from bot.inbound import describe, fetch
from bot.render import esc
from bot.staffgroup import render
from core.context import Desk
from core.errors import DeskError, NotAllowed, TicketClosed
from core.i18n import N_
from core.services.conversations import NewAttachment
from core.staffgroup import inbound, links, topics

log = logging.getLogger(__name__)
GROUPS = {"group", "supergroup"}
MISSING = {
    links.NOT_FORUM: N_("This group is not a forum: turn on Topics in the group's settings."),
    links.NO_RIGHTS: N_("Make the bot an administrator of this group with the right to manage topics."),
    "no_queue": N_("There is no queue with that name."),
}


def _tr(desk: Desk, language: str) -> Tr:
    return Tr(desk.translator, language)


async def link_group(message: Message, command: CommandObject, bot: Bot, session: AsyncSession, tr: Tr,
                     desk: Desk) -> None:
    if message.from_user is None:
        return
    try:
        admin = await links.admin_of(session, message.from_user.id)
    except NotAllowed:
        await message.reply(esc(tr("Only an admin who linked Telegram to their desk account can link this group.")))
        return
    tr = _tr(desk, admin.language)
    chat = await bot.get_chat(message.chat.id)
    me = await bot.get_chat_member(message.chat.id, bot.id)
    facts = links.GroupFacts(chat_id=chat.id, title=chat.title or "", is_forum=bool(chat.is_forum),
                             can_manage_topics=me.status == "administrator"
                             and bool(getattr(me, "can_manage_topics", False)))
    result = await links.link_group(session, admin, facts, (command.args or "").strip() or None)
    if result.missing:
        lines = [tr("This group cannot be the staff group yet:")]
        lines += [f"• {tr(MISSING.get(item, item))}" for item in result.missing]
        await message.reply(esc("\n".join(lines)))
        return
    where = (tr("Tickets of the queue {queue} get a topic here.", queue=result.queue.name) if result.queue
             else tr("Every ticket gets a topic here (queues with a group of their own excepted)."))
    linked = tr("Linked.")
    opened = tr("Open tickets getting their topic here now, the most recent first: {count} (at most {limit}).",
                count=result.topics, limit=topics.CATCH_UP_LIMIT)
    await message.reply(esc(f"{linked} {where}\n{opened}"))


async def topic_message(message: Message, bot: Bot, session: AsyncSession, tr: Tr, desk: Desk) -> None:
    user = message.from_user
    if user is None or user.is_bot or message.message_thread_id is None:
        return
    text = message.text or message.caption or ""
    _, _, _, ref = describe(message)
    files: tuple[NewAttachment, ...] = ()
    if ref is not None and await links.staff_of(session, user.id) is not None:  # only staff's files are fetched
        files = (await fetch(bot, desk.storage, ref),)
    if not text.strip() and not files:
        return  # a sticker, a location...: nothing to send on
    try:
        await inbound.staff_wrote(session, inbound.StaffMessage(
            chat_id=message.chat.id, thread_id=message.message_thread_id, message_id=message.message_id,
            telegram_user_id=user.id, text=text, attachments=files))
    except inbound.NotLinked:
        await _hint(bot, message, tr)
    except inbound.GroupUnlinked:
        await message.reply(esc(tr("This group is no longer linked to the desk: nothing written here reaches "
                                   "the customer. Answer in the panel, or link the group again.")))
    except TicketClosed:
        await message.reply(esc(tr("This ticket is closed: reopen it in the panel to answer the customer.")))


async def _hint(bot: Bot, message: Message, tr: Tr) -> None:
    """Privately when the person talks to the bot; else in the topic, as a reply to them."""
    assert message.from_user is not None
    me = await bot.me()
    text = render.not_linked_hint(tr, me.username or "")
    try:
        await bot.send_message(message.from_user.id, text)
    except (TelegramForbiddenError, TelegramBadRequest):
        with contextlib.suppress(TelegramBadRequest, TelegramForbiddenError):
            await message.reply(text)


async def card_pressed(callback: CallbackQuery, session: AsyncSession, tr: Tr, bot: Bot) -> None:
    parts = (callback.data or "").split(":")
    if len(parts) < 3 or not parts[2].isdigit():
        await callback.answer()
        return
    try:
        await inbound.card_action(session, ticket_id=int(parts[2]), telegram_user_id=callback.from_user.id,
                                  action=parts[1], value=parts[3] if len(parts) > 3 else "")
    except inbound.NotLinked:
        me = await bot.me()
        await callback.answer(render.not_linked_hint(tr, me.username or "")[:200], show_alert=True)
        return
    except DeskError:
        raise
    await callback.answer(tr("Done."))


async def ignored(event: object) -> None:
    """Anything else in a group: nobody there is a customer, so no customer handler may see it."""


async def stale_in_group(callback: CallbackQuery) -> None:
    await callback.answer()


def create_router() -> Router:
    router = Router(name="staffgroup")
    router.message.filter(F.chat.type.in_(GROUPS))
    router.edited_message.filter(F.chat.type.in_(GROUPS))
    router.callback_query.filter(F.message.chat.type.in_(GROUPS))
    router.message.register(link_group, Command("link_staff_group"))
    router.message.register(topic_message, F.message_thread_id)
    router.message.register(ignored)
    router.edited_message.register(ignored)
    router.callback_query.register(card_pressed, F.data.startswith("sg:"))
    router.callback_query.register(stale_in_group)
    return router
