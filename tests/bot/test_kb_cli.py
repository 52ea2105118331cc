"""`desk kb import` / `desk kb export`: JSON and Markdown folders, round trip, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, text

from core.models import Article
from tests.bot.cli import desk_cli
from tests.bot.conftest import SEED


async def articles(sessions) -> list[tuple]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        rows = (await session.scalars(select(Article).order_by(Article.slug))).all()
    return [(a.slug, a.title, a.body.strip(), a.language, a.tags, a.links, a.published) for a in rows]


async def test_import_export_round_trip_through_markdown_and_json(sessions, database_url: str,
                                                                  tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url, "DESK_DATA_DIR": str(tmp_path)}
    code, out, err = await desk_cli("kb", "import", str(SEED), env=env)
    assert code == 0, err
    assert "imported 8 articles: 8 new, 0 updated" in out
    assert "100%" in err  # the progress bar
    before = await articles(sessions)
    assert len(before) == 8
    folder = tmp_path / "kb"
    code, out, _ = await desk_cli("kb", "export", str(folder), env=env)
    assert code == 0 and "exported 8 articles" in out
    page = (folder / "reset-password.md").read_text(encoding="utf-8")
    assert page.startswith("---\ntitle: How to reset your password\nlanguage: en\n")
    assert "link: Account settings | https://example.com/account" in page
    page = page.replace("it works for 24 hours", "it works for 12 hours")
    (folder / "reset-password.md").write_text(page, encoding="utf-8")
    code, out, _ = await desk_cli("kb", "import", str(folder), env=env)
    assert "0 new, 8 updated" in out
    after = await articles(sessions)
    assert [a[0] for a in after] == [b[0] for b in before]
    changed = {a[0]: a for a in after}["reset-password"]
    assert "12 hours" in changed[2]
    assert [a for a in after if a[0] != "reset-password"] == [b for b in before if b[0] != "reset-password"]
    exported = tmp_path / "kb.json"
    await desk_cli("kb", "export", str(exported), env=env)
    assert len(json.loads(exported.read_text(encoding="utf-8"))["articles"]) == 8


async def test_a_bad_file_changes_nothing_and_says_why(sessions, database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"slug": "ok", "title": "Fine", "body": "x"},
                               {"slug": "Bad Slug!", "title": "x", "body": "y"}]), encoding="utf-8")
    code, _, err = await desk_cli("kb", "import", str(bad), env={"DATABASE_URL": database_url,
                                                                  "DESK_DATA_DIR": str(tmp_path)})
    assert code == 1 and "slug" in err and "Bad Slug!" in err
    assert await articles(sessions) == []


async def test_a_large_import_commits_in_parts_and_the_search_knows_every_article(
        sessions, database_url: str, tmp_path: Path) -> None:
    """A transaction that has written holds back the desk's live events (the event bus's horizon), so 250
    articles go in as three transactions of at most 100; the word list, rebuilt once at the end, has
    the last part's words too."""
    kb = [{"slug": f"article-{n:03d}", "title": f"Article {n}", "body": f"Body of article {n}, word{n:03d}x.",
           "language": "en"} for n in range(250)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"articles": kb}), encoding="utf-8")
    code, out, err = await desk_cli("kb", "import", str(path), env={"DATABASE_URL": database_url,
                                                                     "DESK_DATA_DIR": str(tmp_path)})
    assert code == 0, err
    assert "imported 250 articles: 250 new, 0 updated" in out
    async with sessions() as session:
        # xmin: the transaction that wrote the row
        parts = (await session.execute(text(
            "SELECT count(*) FROM article GROUP BY xmin::text ORDER BY min(slug)"))).scalars().all()
        words = set((await session.execute(text("SELECT word FROM kb_word"))).scalars().all())
    assert parts == [100, 100, 50]
    assert {"word000x", "word249x"} <= words
