"""Knowledge-base files: JSON ({"articles": [...]}) or a folder of Markdown files with a small header.

A Markdown file `<slug>.md` reads:

    ---
    title: How to reset a password
    language: en
    tags: account, password
    published: true
    link: Reset page | https://example.com/reset
    example: I forgot my password
    example: cannot sign in
    ---
    The body in Markdown...
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import InvalidInput
from core.kb import vocabulary
from core.kb.articles import ArticleData, as_data, upsert_article
from core.models import Article

Progress = Callable[[int], None]


def read_articles(path: Path) -> list[ArticleData]:
    """Parse and validate every article first, so a bad file changes nothing."""
    if path.is_dir():
        items = [_from_markdown(file) for file in sorted(path.glob("*.md"))]
    elif path.suffix.lower() == ".json":
        items = list(_from_json(path))
    else:
        raise InvalidInput("expected a .json file or a folder of .md files", field="path", path=str(path))
    slugs = [item.slug for item in items]
    duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        raise InvalidInput("duplicate slugs", field="slug", slugs=duplicates)
    return [item.validate() for item in items]


def _from_json(path: Path) -> Iterator[ArticleData]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read JSON: {exc}", field="path", path=str(path)) from None
    entries = document.get("articles") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise InvalidInput("JSON must be a list of articles or {\"articles\": [...]}", field="path")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidInput("article must be an object", field="articles", index=index)
        try:
            yield ArticleData(
                slug=str(entry["slug"]), title=str(entry["title"]), body=str(entry.get("body", "")),
                language=str(entry.get("language", "en")), tags=tuple(str(t) for t in entry.get("tags", [])),
                links=tuple({"title": str(link.get("title", "")), "url": str(link.get("url", ""))}
                            for link in entry.get("links", [])),
                published=bool(entry.get("published", True)),
                examples=tuple(str(e) for e in _list(entry.get("examples", []), "examples", index)),
            )
        except (KeyError, AttributeError, TypeError) as exc:
            raise InvalidInput(f"article {index}: missing or bad field {exc}", field="articles", index=index) from None


def _list(value: Any, name: str, index: int) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"article {index}: {name} must be a list", field="articles", index=index)
    return value


def _from_markdown(file: Path) -> ArticleData:
    text = file.read_text(encoding="utf-8")
    header: dict[str, Any] = {"link": [], "example": []}
    body = text
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end < 0:
            raise InvalidInput("header not closed with ---", field="path", path=str(file))
        for line in text[4:end].splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise InvalidInput(f"bad header line: {line!r}", field="path", path=str(file))
            key, value = key.strip().lower(), value.strip()
            if key in ("link", "example"):
                header[key].append(value)
            else:
                header[key] = value
        body = text[end + 4:].lstrip("\n")
    links = []
    for raw in header["link"]:
        title, _, url = raw.rpartition("|")
        links.append({"title": title.strip() or url.strip(), "url": url.strip()})
    return ArticleData(
        slug=file.stem, title=str(header.get("title", file.stem)), body=body.rstrip() + "\n",
        language=str(header.get("language", "en")),
        tags=tuple(t.strip() for t in str(header.get("tags", "")).split(",") if t.strip()),
        links=tuple(links), published=str(header.get("published", "true")).lower() not in ("false", "no", "0"),
        examples=tuple(e for e in header["example"] if e),
    )


async def import_articles(session: AsyncSession, items: list[ArticleData], progress: Progress | None = None,
                          ) -> tuple[int, int]:
    """Upsert by slug in the caller's transaction; returns (created, updated). The search's word list
    is rebuilt once, after the last article."""
    created, updated = await _upsert(session, items, progress)
    await vocabulary.rebuild(session)
    return created, updated


IMPORT_PART = 100  # articles per transaction of `desk kb import`


async def import_in_parts(sessions: async_sessionmaker[AsyncSession], items: list[ArticleData],
                          progress: Progress | None = None, part: int = IMPORT_PART) -> tuple[int, int]:
    """`desk kb import`: the articles in transactions of `part` each, then the word list rebuilt once.
    A transaction that has written holds back every live event of the desk until it ends (the event
    bus's horizon, core/events.py), so a large import must not be one; an upsert by slug makes running
    it again after a failure safe."""
    created = updated = 0
    for start in range(0, len(items), part):
        async with sessions() as session, session.begin():
            new, changed = await _upsert(session, items[start : start + part], progress)
        created, updated = created + new, updated + changed
    async with sessions() as session, session.begin():
        await vocabulary.rebuild(session)
    return created, updated


async def _upsert(session: AsyncSession, items: list[ArticleData], progress: Progress | None) -> tuple[int, int]:
    created = updated = 0
    for item in items:
        _, is_new = await upsert_article(session, item, refresh=False)
        created += is_new
        updated += not is_new
        if progress:
            progress(1)
    return created, updated


async def export_articles(session: AsyncSession, path: Path, progress: Progress | None = None) -> int:
    articles = (await session.scalars(select(Article).order_by(Article.language, Article.slug))).all()
    items = [as_data(article) for article in articles]
    write_articles(items, path, progress)
    return len(items)


def write_articles(items: list[ArticleData], path: Path, progress: Progress | None = None) -> None:
    if path.suffix.lower() == ".json":
        document = {"articles": [_as_json(item) for item in items]}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        if progress:
            progress(len(items))
        return
    path.mkdir(parents=True, exist_ok=True)
    for item in items:
        (path / f"{item.slug}.md").write_text(_as_markdown(item), encoding="utf-8")
        if progress:
            progress(1)


def _as_json(item: ArticleData) -> dict[str, Any]:
    return {"slug": item.slug, "title": item.title, "body": item.body, "language": item.language,
            "tags": list(item.tags), "links": [dict(link) for link in item.links], "published": item.published,
            "examples": list(item.examples)}


def _as_markdown(item: ArticleData) -> str:
    lines = ["---", f"title: {item.title}", f"language: {item.language}", f"tags: {', '.join(item.tags)}",
             f"published: {'true' if item.published else 'false'}"]
    lines += [f"link: {link.get('title', '')} | {link.get('url', '')}" for link in item.links]
    lines += [f"example: {' '.join(example.split())}" for example in item.examples]
    lines += ["---", ""]
    return "\n".join(lines) + item.body.rstrip() + "\n"
