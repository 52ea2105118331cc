"""/start (and operator linking by deep link), the menu, /help, /language. The greeting, menu and help
are core's dialogue; linking an operator and the language picker are Telegram's own."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import LangCb, MenuCb
from bot.channel_spec import NAME as TELEGRAM
from bot.dialogue import menu_action, show
from bot.i18n import Tr
from bot.render import esc
from core.context import Desk
from core.dialogue import Dialogue
from core.domain import LANGUAGES
from core.errors import Conflict, InvalidInput
from core.models import Contact
from core.services.operator_link import PREFIX, link_operator


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


async def start(message: Message, bot: Bot, state: FSMContext, session: AsyncSession, contact: Contact,
                dialogue: Dialogue) -> None:
    await state.set_state(None)  # leaves an order in progress too, as /start always did
    answers = await dialogue.start(session, contact, TELEGRAM, name=message.chat.first_name or "")
    await show(bot, message.chat.id, answers)


async def show_help(message: Message, bot: Bot, contact: Contact, dialogue: Dialogue) -> None:
    await show(bot, message.chat.id, dialogue.help(contact))


async def ask_language(message: Message, tr: Tr) -> None:
    await message.answer(tr("Choose your language:"), reply_markup=keyboards.languages())


async def choose_language(callback: CallbackQuery, callback_data: LangCb, bot: Bot, session: AsyncSession,
                          contact: Contact, desk: Desk, dialogue: Dialogue) -> None:
    if callback_data.language not in LANGUAGES:
        await callback.answer()
        return
    contact.language = callback_data.language
    contact.language_chosen = True
    await session.flush()
    tr = Tr(desk.translator, contact.language)
    await callback.answer(tr("Language: English"))
    await show(bot, callback.from_user.id,
               [dialogue.menu(session, contact, TELEGRAM, tr("Hello! I will speak English now."))])


async def menu(callback: CallbackQuery, callback_data: MenuCb, bot: Bot, session: AsyncSession, contact: Contact,
               dialogue: Dialogue) -> None:
    answers = await dialogue.action(session, contact, TELEGRAM, menu_action(callback_data))
    await show(bot, callback.from_user.id, answers, callback)


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start_link, CommandStart(deep_link=True, magic=F.args.startswith(PREFIX)))
    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(ask_language, Command("language"))
    router.callback_query.register(choose_language, LangCb.filter())
    router.callback_query.register(menu, MenuCb.filter(F.action.in_({"ask", "tickets"})))
    return router
