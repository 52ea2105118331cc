"""Articles: read for answering, related ones, feedback, and the upsert the importer uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import array, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES
from core.errors import InvalidInput, NotFound
from core.kb import vocabulary
from core.models import Article, ArticleFeedback

MAX_TITLE = 256
MAX_BODY = 100_000
MAX_EXAMPLES = 50
MAX_EXAMPLE = 300


@dataclass(frozen=True)
class ArticleData:
    """An article as imported, exported or edited: validated before it touches the database."""

    slug: str
    title: str
    body: str
    language: str = "en"
    tags: tuple[str, ...] = ()
    links: tuple[dict[str, str], ...] = ()
    published: bool = True
    examples: tuple[str, ...] = ()  # questions that should find the article; they count as the title
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> ArticleData:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,127}", self.slug):
            raise InvalidInput("slug must be lowercase letters, digits, '.', '_' or '-'", field="slug", slug=self.slug)
        if not self.title.strip() or len(self.title) > MAX_TITLE:
            raise InvalidInput("title is empty or too long", field="title", slug=self.slug, max_length=MAX_TITLE)
        if len(self.body) > MAX_BODY:
            raise InvalidInput("body too long", field="body", slug=self.slug, max_length=MAX_BODY)
        if self.language not in LANGUAGES:
            raise InvalidInput("language must be en or ru", field="language", slug=self.slug)
        if len(self.examples) > MAX_EXAMPLES or any(len(e) > MAX_EXAMPLE or not e.strip() for e in self.examples):
            raise InvalidInput(f"up to {MAX_EXAMPLES} example questions, each 1 to {MAX_EXAMPLE} characters",
                               field="examples", slug=self.slug)
        for link in self.links:
            url = str(link.get("url", ""))
            if not url.startswith(("http://", "https://")):
                raise InvalidInput("link url must start with http:// or https://", field="links", slug=self.slug)
        return self


def as_data(article: Article) -> ArticleData:
    return ArticleData(article.slug, article.title, article.body, article.language, tuple(article.tags),
                       tuple(article.links), article.published, tuple(article.examples))


async def upsert_article(session: AsyncSession, data: ArticleData, *, refresh: bool = True) -> tuple[int, bool]:
    """Insert or update by slug; returns (id, created). The search's word list is rebuilt unless the
    caller (an import of many) does it once at the end."""
    data = data.validate()
    values = {"slug": data.slug, "title": data.title.strip(), "body": data.body, "language": data.language,
              "tags": list(data.tags), "links": [dict(link) for link in data.links], "published": data.published,
              "examples": [" ".join(e.split()) for e in data.examples]}
    existed = await session.scalar(select(Article.id).where(Article.slug == data.slug))
    stmt = insert(Article).values(**values).on_conflict_do_update(
        index_elements=["slug"], set_={**{k: v for k, v in values.items() if k != "slug"}, "updated_at": func.now()}
    ).returning(Article.id)
    article_id = (await session.execute(stmt)).scalar_one()
    if refresh:
        await vocabulary.rebuild(session)
    return article_id, existed is None


async def get_published(session: AsyncSession, article_id: int) -> Article:
    article = await session.get(Article, article_id)
    if article is None or not article.published:
        raise NotFound("article", article_id=article_id)
    return article


async def related(session: AsyncSession, article: Article, limit: int = 3) -> list[Article]:
    """Published articles in the same language sharing the most tags."""
    if not article.tags:
        return []
    rows = (await session.scalars(
        select(Article).where(
            Article.published, Article.language == article.language, Article.id != article.id,
            Article.tags.op("?|")(array([str(tag) for tag in article.tags]))
        ).order_by(Article.helpful_count.desc(), Article.id).limit(limit)
    )).all()
    return list(rows)


async def record_feedback(session: AsyncSession, *, article_id: int, contact_id: int, helpful: bool,
                          query: str = "", question_key: str = "") -> bool:
    """One vote per contact and article; changing it moves the counts. Returns False if unchanged.
    The vote is kept under the question it answered (`question_key`, core.kb.search): it adjusts the
    article's ranking for that question, and a changed vote counts from now (the adjustment fades)."""
    article = await session.get(Article, article_id, with_for_update=True)
    if article is None:
        raise NotFound("article", article_id=article_id)
    previous = await session.scalar(
        select(ArticleFeedback).where(ArticleFeedback.article_id == article_id,
                                      ArticleFeedback.contact_id == contact_id).with_for_update()
    )
    if previous is not None and previous.helpful == helpful:
        return False
    if previous is None:
        session.add(ArticleFeedback(article_id=article_id, contact_id=contact_id, helpful=helpful, query=query[:500],
                                    question_key=question_key))
    else:
        previous.helpful = helpful
        previous.created_at = datetime.now(UTC)
        if question_key:
            previous.query, previous.question_key = query[:500], question_key
        _count(article, not helpful, -1)
    _count(article, helpful, +1)
    await session.flush()
    return True


def _count(article: Article, helpful: bool, delta: int) -> None:
    if helpful:
        article.helpful_count = max(0, article.helpful_count + delta)
    else:
        article.not_helpful_count = max(0, article.not_helpful_count + delta)
