"""Knowledge-base editor API: articles, a Markdown preview, and "ask as a customer"."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from core.kb import editing
from core.kb.articles import ArticleData, get_published
from core.kb.search import find_answer
from web.api.registry import ApiRegistry, json_ok, parse_body, parse_query, path_id
from web.api.schemas import Language, Strict
from web.auth import staff
from web.keys import DB


class Link(BaseModel):
    title: str = Field(default="", max_length=200)
    url: str = Field(max_length=2000, pattern=r"^https?://")


class ArticleIn(Strict):
    slug: str = Field(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(default="", max_length=100_000)
    language: Language = "en"
    tags: list[str] = Field(default_factory=list, max_length=30)
    links: list[Link] = Field(default_factory=list, max_length=20)
    published: bool = True


class ArticlePatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=256)
    body: str | None = Field(default=None, max_length=100_000)
    language: Language | None = None
    tags: list[str] | None = Field(default=None, max_length=30)
    links: list[Link] | None = Field(default=None, max_length=20)
    published: bool | None = None


class ArticlesQuery(Strict):
    language: Language | None = None
    q: str = Field(default="", max_length=200)


class SearchQuery(Strict):
    q: str = Field(min_length=1, max_length=500)
    language: Language = "en"


class PreviewIn(Strict):
    body: str = Field(max_length=100_000)


async def list_articles(request: web.Request) -> web.Response:
    staff(request)
    query = parse_query(request, ArticlesQuery)
    rows = await editing.list_articles(request[DB], language=query.language, text=query.q)
    return json_ok({"items": [editing.article_json(row) for row in rows]})


async def get_article(request: web.Request) -> web.Response:
    staff(request)
    return json_ok(editing.article_json(await editing.get_article(request[DB], path_id(request))))


async def create_article(request: web.Request) -> web.Response:
    staff(request)
    body = await parse_body(request, ArticleIn)
    tags = tuple(tag.strip() for tag in body.tags if tag.strip())
    links = tuple(link.model_dump() for link in body.links)
    data = ArticleData(body.slug, body.title, body.body, body.language, tags, links, body.published)
    article = await editing.create_article(request[DB], data)
    await request[DB].commit()
    return json_ok(editing.article_json(article), status=201)


async def update_article(request: web.Request) -> web.Response:
    staff(request)
    body = await parse_body(request, ArticlePatch)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    article = await editing.update_article(request[DB], path_id(request), changes)
    await request[DB].commit()
    return json_ok(editing.article_json(article))


async def delete_article(request: web.Request) -> web.Response:
    staff(request)
    await editing.delete_article(request[DB], path_id(request))
    await request[DB].commit()
    return json_ok({"ok": True})


async def preview(request: web.Request) -> web.Response:
    staff(request)
    body = await parse_body(request, PreviewIn)
    return json_ok({"html": editing.render_markdown(body.body)})


async def ask(request: web.Request) -> web.Response:
    """What the bot would answer a customer asking `q` in `language`."""
    staff(request)
    query = parse_query(request, SearchQuery)
    result = await find_answer(request[DB], query.q, query.language)
    answer = None
    if result.outcome == "hit" and result.best is not None:
        article = await get_published(request[DB], result.best.article_id)
        answer = {"id": article.id, "title": article.title, "html": editing.render_markdown(article.body)}
    return json_ok({"outcome": result.outcome, "answer": answer,
                    "found": [{"id": f.article_id, "title": f.title, "score": f.score} for f in result.found]})


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/kb/articles", list_articles, "Knowledge-base articles", query=ArticlesQuery)
    api.add("POST", "/api/kb/articles", create_article, "Create an article", body=ArticleIn, status=201, errors=(409,))
    api.add("GET", "/api/kb/articles/{id}", get_article, "An article")
    api.add("PATCH", "/api/kb/articles/{id}", update_article, "Change an article", body=ArticlePatch, errors=(409,))
    api.add("DELETE", "/api/kb/articles/{id}", delete_article, "Delete an article")
    api.add("POST", "/api/kb/preview", preview, "Markdown preview (sanitized HTML)", body=PreviewIn)
    api.add("GET", "/api/kb/search", ask, "What the bot would answer a customer", query=SearchQuery)
