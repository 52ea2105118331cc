"""Knowledge-base editor API: articles, a Markdown preview, "ask as a customer", and what tunes the
search: example questions per article and synonym groups (both admin only)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, Field

from core.auth.permissions import visible_ticket
from core.kb import editing, misses, picker, synonyms
from core.kb.articles import MAX_EXAMPLE, MAX_EXAMPLES, ArticleData, get_published
from core.kb.search import adjustments_of, find_answer
from core.models import Contact
from web.api.registry import ApiRegistry, json_ok, parse_body, parse_query, path_id
from web.api.schemas import Language, Strict
from web.auth import admin, staff
from web.keys import DB

Example = Annotated[str, Field(min_length=1, max_length=MAX_EXAMPLE)]


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
    examples: list[Example] = Field(default_factory=list, max_length=MAX_EXAMPLES)


class ArticlePatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=256)
    body: str | None = Field(default=None, max_length=100_000)
    language: Language | None = None
    tags: list[str] | None = Field(default=None, max_length=30)
    links: list[Link] | None = Field(default=None, max_length=20)
    published: bool | None = None
    examples: list[Example] | None = Field(default=None, max_length=MAX_EXAMPLES)


class ExampleIn(Strict):
    question: Example


class MissesQuery(Strict):
    language: Language = "en"


MissKey = Annotated[str, Field(min_length=1, max_length=2000)]


class MissGroupIn(Strict):
    """A group of missed questions as the list gave it: its language and its keys."""

    language: Language
    keys: list[MissKey] = Field(min_length=1, max_length=misses.MAX_KEYS)


class MissExampleIn(MissGroupIn):
    article_id: int = Field(ge=1)
    question: Example


class SynonymsQuery(Strict):
    language: Language | None = None


class SynonymIn(Strict):
    language: Language
    terms: list[Annotated[str, Field(max_length=synonyms.MAX_TERM)]] = Field(min_length=2,
                                                                               max_length=synonyms.MAX_TERMS)


class ArticlesQuery(Strict):
    language: Language | None = None
    q: str = Field(default="", max_length=200)


class SearchQuery(Strict):
    q: str = Field(min_length=1, max_length=500)
    language: Language = "en"


class PickerQuery(Strict):
    q: str = Field(default="", max_length=200)


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


def _examples_by_admin(request: web.Request, examples: list[str] | None) -> tuple[str, ...] | None:
    """Example questions steer what the bot answers, so only an admin sets them."""
    if examples is None:
        return None
    admin(request)
    return tuple(" ".join(example.split()) for example in examples if example.strip())


async def create_article(request: web.Request) -> web.Response:
    staff(request)
    body = await parse_body(request, ArticleIn)
    tags = tuple(tag.strip() for tag in body.tags if tag.strip())
    links = tuple(link.model_dump() for link in body.links)
    examples = _examples_by_admin(request, body.examples or None) or ()
    data = ArticleData(body.slug, body.title, body.body, body.language, tags, links, body.published, examples)
    article = await editing.create_article(request[DB], data)
    await request[DB].commit()
    return json_ok(editing.article_json(article), status=201)


async def update_article(request: web.Request) -> web.Response:
    staff(request)
    body = await parse_body(request, ArticlePatch)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "examples" in changes:
        changes["examples"] = _examples_by_admin(request, body.examples)
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


async def articles_for_reply(request: web.Request) -> web.Response:
    """Published articles to insert into this ticket's reply, in its customer's language first."""
    actor = staff(request)
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    contact = await request[DB].get(Contact, ticket.contact_id)
    language = contact.language if contact is not None else "en"
    query = parse_query(request, PickerQuery)
    found = await picker.articles_for_reply(request[DB], query.q, language)
    return json_ok({"language": language, "items": [item.json() for item in found]})


async def add_example(request: web.Request) -> web.Response:
    """One question more that should find the article (the panel's one-click "add as an example")."""
    admin(request)
    body = await parse_body(request, ExampleIn)
    article = await editing.add_example(request[DB], path_id(request), body.question)
    await request[DB].commit()
    return json_ok(editing.article_json(article))


async def article_feedback(request: web.Request) -> web.Response:
    """Customers' votes on an article and what they do to its ranking, per question (admin only)."""
    admin(request)
    article = await editing.get_article(request[DB], path_id(request))
    return json_ok({"helped": article.helpful_count, "not_helped": article.not_helpful_count,
                    "questions": await adjustments_of(request[DB], article.id)})


async def list_misses(request: web.Request) -> web.Response:
    """Questions the knowledge base did not answer, similar ones grouped (admin only)."""
    admin(request)
    query = parse_query(request, MissesQuery)
    return json_ok({"items": [group.json() for group in await misses.groups(request[DB], query.language)]})


async def miss_as_example(request: web.Request) -> web.Response:
    """One click: the question becomes an example of the article and its group leaves the list."""
    admin(request)
    body = await parse_body(request, MissExampleIn)
    article = await editing.add_example(request[DB], body.article_id, body.question)
    resolved = await misses.resolve(request[DB], body.language, body.keys)
    await request[DB].commit()
    return json_ok({"article": editing.article_json(article), "resolved": resolved})


async def dismiss_misses(request: web.Request) -> web.Response:
    admin(request)
    body = await parse_body(request, MissGroupIn)
    resolved = await misses.resolve(request[DB], body.language, body.keys)
    await request[DB].commit()
    return json_ok({"resolved": resolved})


async def list_synonyms(request: web.Request) -> web.Response:
    staff(request)
    query = parse_query(request, SynonymsQuery)
    groups = await synonyms.list_groups(request[DB], query.language)
    built_in = {language: [list(group) for group in synonyms.BUILT_IN[language]] for language in synonyms.BUILT_IN}
    return json_ok({"items": [synonyms.synonym_json(group) for group in groups], "built_in": built_in})


async def add_synonym(request: web.Request) -> web.Response:
    admin(request)
    body = await parse_body(request, SynonymIn)
    group = await synonyms.add_group(request[DB], body.language, body.terms)
    await request[DB].commit()
    return json_ok(synonyms.synonym_json(group), status=201)


async def delete_synonym(request: web.Request) -> web.Response:
    admin(request)
    await synonyms.delete_group(request[DB], path_id(request))
    await request[DB].commit()
    return json_ok({"ok": True})


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/kb/articles", list_articles, "Knowledge-base articles", query=ArticlesQuery)
    api.add("POST", "/api/kb/articles", create_article, "Create an article", body=ArticleIn, status=201, errors=(409,))
    api.add("GET", "/api/kb/articles/{id}", get_article, "An article")
    api.add("PATCH", "/api/kb/articles/{id}", update_article, "Change an article", body=ArticlePatch, errors=(409,))
    api.add("DELETE", "/api/kb/articles/{id}", delete_article, "Delete an article")
    api.add("POST", "/api/kb/preview", preview, "Markdown preview (sanitized HTML)", body=PreviewIn)
    api.add("GET", "/api/kb/search", ask, "What the bot would answer a customer", query=SearchQuery)
    api.add("GET", "/api/tickets/{id}/articles", articles_for_reply,
            "Published articles to insert into a reply, the customer's language first", query=PickerQuery)
    api.add("POST", "/api/kb/articles/{id}/examples", add_example, "Add an example question (admin)", body=ExampleIn)
    api.add("GET", "/api/kb/articles/{id}/feedback", article_feedback, "Votes and their ranking effect (admin)")
    api.add("GET", "/api/kb/misses", list_misses, "Missed questions, grouped (admin)", query=MissesQuery)
    api.add("POST", "/api/kb/misses/example", miss_as_example, "Add a missed question as an example (admin)",
            body=MissExampleIn, errors=(404,))
    api.add("POST", "/api/kb/misses/dismiss", dismiss_misses, "Dismiss a group of missed questions (admin)",
            body=MissGroupIn)
    api.add("GET", "/api/kb/synonyms", list_synonyms, "Synonym groups: admins' and built-in", query=SynonymsQuery)
    api.add("POST", "/api/kb/synonyms", add_synonym, "Add a synonym group (admin)", body=SynonymIn, status=201)
    api.add("DELETE", "/api/kb/synonyms/{id}", delete_synonym, "Delete a synonym group (admin)")
