"""/start (and operator linking by deep link), the menu, /help, /language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import LangCb, MenuCb
from bot.i18n import Tr
from bot.render import esc
from core.context import Desk
from core.domain import LANGUAGES
from core.errors import Conflict, InvalidInput
from core.i18n import N_
from core.models import Contact, Ticket
from core.services.operator_link import PREFIX, link_operator
from core.services.relay import recent_tickets

STATUS_LABELS = {"open": N_("waiting for an operator"), "in_progress": N_("an operator is on it"),
                 "waiting_customer": N_("waiting for your reply"), "closed": N_("resolved")}


async def start_link(message: Message, command: CommandObject, session: AsyncSession, tr: Tr) -> None:
    token = (command.args or "")[len(PREFIX):]
    try:
        operator = await link_operator(session, token, message.chat.id)
    except InvalidInput:
        await message.answer(tr("This link is invalid, used or expired. Ask for a new one in the panel."))
        return
    except Conflict:
        await message.answer(tr("This Telegram account is already linked to another operator."))
        return
    await message.answer(tr("Done, {name}: you will get alerts here when nobody has the panel open.",
                            name=esc(operator.display_name)))


async def start(message: Message, state: FSMContext, contact: Contact, tr: Tr) -> None:
    await state.set_state(None)
    name = esc(contact.name or message.chat.first_name or "")
    await message.answer(tr("Hello, {name}! I am the support bot. Ask me anything, or choose below.", name=name),
                         reply_markup=keyboards.menu(tr))


async def show_help(message: Message, tr: Tr) -> None:
    await message.answer(tr(
        "Write your question and I will look for an answer. Commands:\n"
        "/start: menu\n/human: talk to a human\n/close: close your ticket\n/language: change the language\n"
        "/help: this help"
    ))


async def ask_language(message: Message, tr: Tr) -> None:
    await message.answer(tr("Choose your language:"), reply_markup=keyboards.languages())


async def choose_language(callback: CallbackQuery, callback_data: LangCb, session: AsyncSession,
                          contact: Contact, desk: Desk) -> None:
    if callback_data.language not in LANGUAGES:
        await callback.answer()
        return
    contact.language = callback_data.language
    contact.language_chosen = True
    await session.flush()
    tr = Tr(desk.translator, contact.language)
    await callback.answer(tr("Language: English"))
    await callback.bot.send_message(callback.from_user.id, tr("Hello! I will speak English now."),  # type: ignore[union-attr]
                                    reply_markup=keyboards.menu(tr))


async def menu_ask(callback: CallbackQuery, tr: Tr) -> None:
    await callback.answer()
    await callback.bot.send_message(callback.from_user.id, tr("Type your question in one message."))  # type: ignore[union-attr]


async def menu_tickets(callback: CallbackQuery, session: AsyncSession, contact: Contact, tr: Tr) -> None:
    await callback.answer()
    tickets = await recent_tickets(session, contact.id)
    text = tr("Your tickets:") + "\n" + "\n".join(_ticket_line(t, tr) for t in tickets) if tickets else tr(
        "You have no tickets yet.")
    await callback.bot.send_message(callback.from_user.id, text)  # type: ignore[union-attr]


def _ticket_line(ticket: Ticket, tr: Tr) -> str:
    return f"#{ticket.id} · {esc(ticket.subject)} · {tr(STATUS_LABELS.get(ticket.status, ticket.status))}"


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start_link, CommandStart(deep_link=True, magic=F.args.startswith(PREFIX)))
    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(ask_language, Command("language"))
    router.callback_query.register(choose_language, LangCb.filter())
    router.callback_query.register(menu_ask, MenuCb.filter(F.action == "ask"))
    router.callback_query.register(menu_tickets, MenuCb.filter(F.action == "tickets"))
    return router
