from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_spec import NAME
from bot.contacts import sender_for_telegram, telegram_external_id
from bot.fsm import PREREAD, chat_state_key
from bot.i18n import Tr, pick_language
from core.errors import DeskError
from core.i18n import N_, Translator
from core.services.contacts import TelegramProfile, unblock_identity
from core.services.updates import claim_update, take_in

log = logging.getLogger(__name__)


class UpdateSessionMiddleware(BaseMiddleware):
    """One session and one transaction per update. The update id is recorded in that transaction,
    so a redelivered update is skipped, and an update whose handling failed is not marked done.

    A domain error (DeskError) undoes the handler's writes, then the update is recorded as done in a
    second transaction and the user gets a clear answer in their language (no savepoint per update).

    An update from a person in a private chat is taken in with one statement that also reads the
    sender's contact, their dialogue state and the chat's FSM state (`core.services.updates.take_in`);
    the middlewares and handlers after this one use those rows instead of reading them again."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        try:
            async with self._sessions() as session, session.begin():
                if not await self._take_in(session, event, data):
                    log.info("duplicate update skipped", extra={"update_id": event.update_id})
                    return None
                data["session"] = session
                return await handler(event, data)
        except DeskError as exc:
            log.info("domain error answered", extra={"code": exc.code, "update_id": event.update_id})
            async with self._sessions() as session, session.begin():
                if await claim_update(session, event.update_id):
                    await answer_error(event, data.get("tr"), exc)
            return None


    @staticmethod
    async def _take_in(session: AsyncSession, event: Update, data: dict[str, Any]) -> bool:
        user, chat = data.get("event_from_user"), data.get("event_chat")
        if not from_a_person(user, chat):
            return await claim_update(session, event.update_id)
        assert user is not None
        chat_key = chat_state_key(data)
        intake = await take_in(session, event.update_id, channel=NAME, external_id=telegram_external_id(user.id),
                               chat_key=chat_key)
        if intake is None:
            return False
        if chat_key is not None:
            data[PREREAD] = (chat_key, intake.chat_state, intake.chat_data)
        return True


def from_a_person(user: Any, chat: Any) -> bool:
    """Customers write in private chats; in a group (the staff group) nobody becomes a contact."""
    return user is not None and not user.is_bot and (chat is None or chat.type == "private")


class ContactMiddleware(BaseMiddleware):
    """The sender as a contact and the identity they write from, and `tr` in their language: the
    chosen one, else Telegram's, else English."""

    def __init__(self, translator: Translator) -> None:
        self._translator = translator

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        session = data.get("session")
        chat = data.get("event_chat")
        if session is None or not from_a_person(user, chat):
            data["tr"] = Tr(self._translator, pick_language(None, False, getattr(user, "language_code", None)))
            return await handler(event, data)
        assert user is not None
        contact, identity = await sender_for_telegram(session, TelegramProfile(
            user_id=user.id, first_name=user.first_name, last_name=user.last_name, username=user.username,
            language_code=user.language_code,
        ))
        language = pick_language(contact.language, contact.language_chosen, user.language_code)
        if contact.language != language:
            contact.language = language
            await session.flush()
        if identity.blocked or contact.blocked:  # they write to us again from here: they unblocked the bot
            await unblock_identity(session, contact, identity)
        data["contact"] = contact
        data["identity"] = identity  # the chat they write from: a handoff opens the ticket on it
        data["tr"] = Tr(self._translator, language)
        return await handler(event, data)


ERROR_TEXTS = {
    "not_found": N_("That is no longer available."),
    "not_allowed": N_("That cannot be done now."),
    "invalid_input": N_("That does not look right. Please check it and try again."),
    "ticket_closed": N_("This ticket is closed. Write a new message to reopen it."),
    "too_large": N_("That is too large."),
    "unsupported_type": N_("This file type is not accepted."),
    "conflict": N_("That was already done."),
    "transition_not_allowed": N_("That cannot be done now."),
}


async def answer_error(event: Update, tr: Tr | None, error: DeskError) -> None:
    message = ERROR_TEXTS.get(error.code, N_("That does not look right. Please check it and try again."))
    text = tr(message) if tr is not None else message
    if event.callback_query is not None:
        await event.callback_query.answer(text, show_alert=True)
    elif event.message is not None:
        await event.message.answer(text)
