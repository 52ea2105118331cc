"""The knowledge-base editor's use cases: list, read, create, change, delete, render a preview."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, NotFound
from core.kb import vocabulary
from core.kb.articles import ArticleData, as_data, upsert_article
from core.models import Article

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(body: str) -> str:
    """Markdown to HTML for the preview: raw HTML is not passed through, and the result is cleaned
    by an allow-list sanitizer, so an article cannot carry script into the panel."""
    return nh3.clean(_markdown.render(body), link_rel="noopener noreferrer nofollow")


def article_json(article: Article) -> dict[str, Any]:
    return {"id": article.id, "slug": article.slug, "title": article.title, "body": article.body,
            "language": article.language, "tags": list(article.tags), "links": list(article.links),
            "published": article.published, "examples": list(article.examples), "helpful_count": article.helpful_count,
            "not_helpful_count": article.not_helpful_count,
            "updated_at": article.updated_at.isoformat() if article.updated_at else None}


async def list_articles(session: AsyncSession, *, language: str | None = None, text: str = "") -> list[Article]:
    query = select(Article).order_by(Article.language, Article.title)
    if language:
        query = query.where(Article.language == language)
    if text.strip():
        pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Article.title.ilike(pattern), Article.body.ilike(pattern)))
    return list(await session.scalars(query.limit(500)))


async def get_article(session: AsyncSession, article_id: int) -> Article:
    article = await session.get(Article, article_id)
    if article is None:
        raise NotFound("article", article_id=article_id)
    return article


async def create_article(session: AsyncSession, data: ArticleData) -> Article:
    if await session.scalar(select(Article.id).where(Article.slug == data.slug)):
        raise Conflict("slug taken", field="slug")
    article_id, _ = await upsert_article(session, data)
    return await _fresh(session, article_id)


async def update_article(session: AsyncSession, article_id: int, changes: dict[str, Any]) -> Article:
    """Change any field but the slug (imports match articles by slug)."""
    current = as_data(await get_article(session, article_id))
    allowed: dict[str, Any] = {k: (tuple(v) if k in ("tags", "links", "examples") else v)
                               for k, v in changes.items()
                               if k in ("title", "body", "language", "tags", "links", "published", "examples")}
    await upsert_article(session, replace(current, **allowed))
    return await _fresh(session, article_id)


async def add_example(session: AsyncSession, article_id: int, question: str) -> Article:
    """Append a question to the article's examples (once; the same words twice are one example)."""
    article = await get_article(session, article_id)
    question = " ".join(question.split())
    if question.lower() in (example.lower() for example in article.examples):
        return article
    return await update_article(session, article_id, {"examples": [*article.examples, question]})


async def delete_article(session: AsyncSession, article_id: int) -> None:
    await get_article(session, article_id)
    await session.execute(delete(Article).where(Article.id == article_id))
    await vocabulary.rebuild(session)


async def _fresh(session: AsyncSession, article_id: int) -> Article:
    await session.flush()
    article = await session.get(Article, article_id, populate_existing=True)
    assert article is not None
    return article
