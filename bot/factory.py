from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.filters import run_pure_filters_inline
from bot.fsm import SessionFSMMiddleware
from bot.handlers import closing, conversation, fallback, handoff, kb, start
from bot.middlewares import ContactMiddleware, UpdateSessionMiddleware
from bot.orders import customer as orders_customer
from bot.orders import my_orders as orders_mine
from bot.orders import partner as orders_partner
from core.context import Desk
from core.intents import load_intents


def create_bot(token: str, api_base: str, *, timeout: float = 30.0) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base), timeout=timeout)
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_dispatcher(desk: Desk) -> Dispatcher:
    """The one Dispatcher factory: production and tests build it the same way."""
    # FSM state lives in PostgreSQL, bound to the update's transaction (SessionFSMMiddleware).
    dispatcher = Dispatcher(desk=desk, intents=load_intents(), disable_fsm=True)
    dispatcher.update.outer_middleware(UpdateSessionMiddleware(desk.sessions))
    dispatcher.update.outer_middleware(SessionFSMMiddleware())
    dispatcher.update.outer_middleware(ContactMiddleware(desk.translator))
    dispatcher.include_routers(orders_partner.create_router(), orders_customer.create_router(),  # before /start
                               orders_mine.create_router())
    dispatcher.include_routers(start.create_router(), closing.create_router(), handoff.create_router(),
                               kb.create_router())
    # Other areas' routers go here: before the catch-all conversation router.
    dispatcher.include_routers(conversation.create_router(), fallback.create_router())
    run_pure_filters_inline(dispatcher)
    return dispatcher
