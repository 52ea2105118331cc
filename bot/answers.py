"""Knowledge-base answers in Telegram: the article as safe HTML in as few messages as fit, with
"this helped", "talk to a human" and related articles under the last one."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import LinkPreviewOptions
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.i18n import Tr
from bot.markdown import pack, to_blocks
from bot.render import attr, esc
from core.kb.articles import get_published, related
from core.kb.search import SearchResult


async def send_article(bot: Bot, session: AsyncSession, chat_id: int, tr: Tr, article_id: int) -> None:
    article = await get_published(session, article_id)
    others = await related(session, article)
    blocks = [f"<b>{esc(article.title)}</b>", *to_blocks(article.body)]
    links = [link for link in article.links if str(link.get("url", "")).startswith(("http://", "https://"))]
    if links:
        lines = [f'• <a href="{attr(link["url"])}">{esc(link.get("title") or link["url"])}</a>' for link in links]
        blocks.append(tr("Links:") + "\n" + "\n".join(lines))
    parts = pack(blocks)
    markup = keyboards.article(tr, article.id, [(other.id, other.title) for other in others])
    for index, part in enumerate(parts):
        await bot.send_message(chat_id, part, reply_markup=markup if index == len(parts) - 1 else None,
                               link_preview_options=LinkPreviewOptions(is_disabled=True))


async def send_search_result(bot: Bot, session: AsyncSession, chat_id: int, tr: Tr, result: SearchResult) -> None:
    best = result.best
    if result.outcome == "hit" and best is not None:
        await send_article(bot, session, chat_id, tr, best.article_id)
    elif result.outcome == "weak":
        found = [(f.article_id, f.title) for f in result.found]
        await bot.send_message(chat_id, tr("I am not sure I understood. Is it one of these?"),
                               reply_markup=keyboards.suggestions(tr, found))
    else:
        await bot.send_message(chat_id, tr("I could not find an answer to that. Shall I pass your question to a "
                                           "human?"), reply_markup=keyboards.human(tr))
