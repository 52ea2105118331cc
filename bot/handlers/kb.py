"""Knowledge-base buttons: "this helped", and opening a suggested or related article."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.answers import send_article
from bot.callbacks import KbCb
from bot.i18n import Tr
from core.errors import NotFound
from core.kb.articles import record_feedback
from core.models import Contact


async def helped(callback: CallbackQuery, callback_data: KbCb, session: AsyncSession, contact: Contact,
                 state: FSMContext, tr: Tr) -> None:
    try:
        await record_feedback(session, article_id=callback_data.article_id, contact_id=contact.id, helpful=True)
    except NotFound:
        await callback.answer(tr("This article is no longer available."), show_alert=True)
        return
    await state.update_data(pending=[])  # answered: nothing to pass on
    await callback.answer(tr("Glad it helped!"))


async def show(callback: CallbackQuery, callback_data: KbCb, bot: Bot, session: AsyncSession, tr: Tr) -> None:
    try:
        await send_article(bot, session, callback.from_user.id, tr, callback_data.article_id)
    except NotFound:
        await callback.answer(tr("This article is no longer available."), show_alert=True)
        return
    await callback.answer()


def create_router() -> Router:
    router = Router(name="kb")
    router.callback_query.register(helped, KbCb.filter(F.action == "helped"))
    router.callback_query.register(show, KbCb.filter(F.action == "show"))
    return router
