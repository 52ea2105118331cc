"""Knowledge-base buttons: "this helped", and opening a suggested or related article."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import KbCb
from bot.channel_spec import NAME as TELEGRAM
from bot.dialogue import kb_action, show
from core.dialogue import Dialogue
from core.models import Contact


async def pressed(callback: CallbackQuery, callback_data: KbCb, bot: Bot, session: AsyncSession, contact: Contact,
                  dialogue: Dialogue) -> None:
    answers = await dialogue.action(session, contact, TELEGRAM, kb_action(callback_data))
    await show(bot, callback.from_user.id, answers, callback)


def create_router() -> Router:
    router = Router(name="kb")
    router.callback_query.register(pressed, KbCb.filter(F.action.in_({"helped", "show"})))
    return router
