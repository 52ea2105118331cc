"""Last resort: unknown commands, buttons of features not installed, stale or malformed buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.callbacks import MenuCb
from bot.i18n import Tr


async def unknown_command(message: Message, tr: Tr) -> None:
    await message.answer(tr("I do not know this command. Try /help."))


async def not_available(callback: CallbackQuery, tr: Tr) -> None:
    await callback.answer(tr("This is not available yet."), show_alert=True)


async def stale_button(callback: CallbackQuery, tr: Tr) -> None:
    await callback.answer(tr("This button is no longer valid. Send /start for the menu."), show_alert=True)


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_command, F.text.startswith("/"))
    router.callback_query.register(not_available, MenuCb.filter(F.action.in_({"order", "orders"})))
    router.callback_query.register(stale_button)
    return router
