"""Articles an operator can insert into a reply: published only, the customer's language first.

The bot's search (`search.search`) ranks by what a question means; an operator often types the start of
a title instead, so titles holding the typed text follow. Both run in the customer's language before any
other, so a Russian customer's ticket offers Russian articles first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES
from core.kb.search import search
from core.models import Article

LIMIT = 8


@dataclass(frozen=True)
class Pick:
    id: int
    title: str
    language: str
    body: str
    link: str | None  # the article's first public link, offered instead of its text

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "language": self.language, "body": self.body, "link": self.link}


async def articles_for_reply(session: AsyncSession, text: str, language: str, limit: int = LIMIT) -> list[Pick]:
    text = " ".join(text.split())[:200]
    others = [other for other in LANGUAGES if other != language]
    ids: list[int] = []
    for lang in (language, *others):
        if text:
            ids += [found.article_id for found in await search(session, text, lang, limit)]
        ids += await _by_title(session, text, lang, limit)
    ordered = list(dict.fromkeys(ids))[:limit]
    rows = {row.id: row for row in await session.scalars(
        select(Article).where(Article.id.in_(ordered), Article.published)
    )} if ordered else {}
    return [_pick(rows[article_id]) for article_id in ordered if article_id in rows]


async def _by_title(session: AsyncSession, text: str, language: str, limit: int) -> list[int]:
    """Titles holding the text (all of the language's articles, by title, when nothing is typed); titles
    that start with it first."""
    query = select(Article.id).where(Article.published, Article.language == language)
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Article.title.ilike(f"%{escaped}%")).order_by(
            case((Article.title.ilike(f"{escaped}%"), 0), else_=1))
    return list(await session.scalars(query.order_by(Article.title, Article.id).limit(limit)))


def _pick(article: Article) -> Pick:
    link = next((str(item.get("url")) for item in article.links if isinstance(item, dict) and item.get("url")), None)
    return Pick(article.id, article.title, article.language, article.body, link)
