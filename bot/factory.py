from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, TelegramMethod

from bot.dialogue import LegacySupportState
from bot.filters import run_pure_filters_inline
from bot.fsm import SessionFSMMiddleware
from bot.handlers import closing, conversation, fallback, handoff, kb, start
from bot.middlewares import ContactMiddleware, UpdateSessionMiddleware
from bot.orders import customer as orders_customer
from bot.orders import my_orders as orders_mine
from bot.orders import partner as orders_partner
from bot.staffgroup import handlers as staff_group
from core.context import Desk
from core.dialogue import Dialogue
from core.intents import Intents, load_intents

log = logging.getLogger(__name__)

# Set while the dispatcher runs an update: the bot's requests then are a handler's own answers.
HANDLING: ContextVar[bool] = ContextVar("desk_handling_update", default=False)


async def handling_update(handler: Callable[[Any, dict[str, Any]], Awaitable[Any]], event: Any,
                          data: dict[str, Any]) -> Any:
    """The dispatcher's outermost middleware: marks the update's context (see `FloodWaits`)."""
    token = HANDLING.set(True)
    try:
        return await handler(event, data)
    finally:
        HANDLING.reset(token)


def counts_as_sent(method: TelegramMethod[Any]) -> bool:
    """The requests Telegram's flood limits count: a message into a chat (not a chat action)."""
    name = str(getattr(method, "__api_method__", "")).lower()
    return (name.startswith("send") and name != "sendchataction") or name in {"copymessage", "forwardmessage"}


class FloodWaits(BaseRequestMiddleware):
    """A handler's own message that meets a short 429 waits it out in place. The alternative, handling
    the whole update again, sends what the update had already sent a second time and, for a customer
    tapping fast, meets the limit again and again. A longer `retry_after` (over `max_wait`) still fails
    the update, which then comes again. The outbox's sends are not touched: their kinds turn a 429 into
    `RetryLater` and the worker waits."""

    def __init__(self, *, max_wait: float = 10.0, tries: int = 3) -> None:
        self.max_wait, self.tries = max_wait, tries

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Any:
        if not HANDLING.get() or not counts_as_sent(method):
            return await make_request(bot, method)
        for attempt in range(1, self.tries + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.tries or exc.retry_after > self.max_wait:
                    raise
                log.info("answer waits out a flood limit", extra={
                    "chat_id": getattr(method, "chat_id", None), "retry_after": exc.retry_after})
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


class RepeatedCallbackAnswers(BaseRequestMiddleware):
    """Answering a button press is a courtesy. An update handled again (Telegram answered 429 or was away
    after the press was answered) answers it a second time, which Telegram refuses ("query is too old");
    that must not stop the update's real work, or the press would end as a dead letter."""

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if isinstance(method, AnswerCallbackQuery) and "query is too old" in exc.message:
                return True
            raise


def create_bot(token: str, api_base: str, *, timeout: float = 30.0, handles_updates: bool = False) -> Bot:
    """A Bot API client; `handles_updates`: the desk's own bot, whose handlers may run an update twice
    (and wait out a short flood limit in place)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base), timeout=timeout)
    if handles_updates:
        session.middleware(RepeatedCallbackAnswers())
        session.middleware(FloodWaits())
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_dispatcher(desk: Desk) -> Dispatcher:
    """The one Dispatcher factory: production and tests build it the same way."""
    # FSM state lives in PostgreSQL, bound to the update's transaction (SessionFSMMiddleware).
    intents = load_intents()
    dispatcher = Dispatcher(desk=desk, intents=intents, dialogue=create_dialogue(desk, intents), disable_fsm=True)
    dispatcher.update.outer_middleware(handling_update)
    dispatcher.update.outer_middleware(UpdateSessionMiddleware(desk.sessions))
    dispatcher.update.outer_middleware(SessionFSMMiddleware())
    dispatcher.update.outer_middleware(ContactMiddleware(desk.translator))
    dispatcher.update.outer_middleware(LegacySupportState())
    dispatcher.include_router(staff_group.create_router())  # group chats only: before every private-chat router
    dispatcher.include_routers(orders_partner.create_router(), orders_customer.create_router(),  # before /start
                               orders_mine.create_router())
    dispatcher.include_routers(start.create_router(), closing.create_router(), handoff.create_router(),
                               kb.create_router())
    # Other areas' routers go here: before the catch-all conversation router.
    dispatcher.include_routers(conversation.create_router(), fallback.create_router())
    run_pure_filters_inline(dispatcher)
    return dispatcher


def create_dialogue(desk: Desk, intents: Intents) -> Dialogue:
    """Core's dialogue with the desk's settings (offline-operator alerts are core's: `customer_wrote`)."""
    return Dialogue(desk.translator, intents, desk.settings.customer_rate_per_minute,
                    desk.settings.reopen_window_hours)
