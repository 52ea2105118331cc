"""Article search: PostgreSQL full text (russian/english, title weighted over body) plus pg_trgm
similarity so a typo still finds its article. Scores are in [0, 1]; `classify` turns them into a
hit, a few suggestions, or a miss."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES

HIT = 0.45  # confident enough to answer with the article
WEAK = 0.3  # worth suggesting
MAX_QUERY = 300

_SEARCH = text(
    """
    WITH q AS (
        SELECT CAST(:cfg AS regconfig) AS cfg, lower(:q) AS q,
               CAST(replace(CAST(plainto_tsquery(CAST(:cfg AS regconfig), :q) AS text), '&', '|') AS tsquery)
                   AS anyq,
               plainto_tsquery(CAST(:cfg AS regconfig), :q) AS allq
    )
    SELECT a.id, a.title,
           ts_rank_cd(a.search_vector, q.anyq, 32) AS fts_any,
           CASE WHEN numnode(q.allq) > 0 AND a.search_vector @@ q.allq THEN 1 ELSE 0 END AS fts_all,
           CASE WHEN numnode(q.allq) > 0 AND to_tsvector(q.cfg, a.title) @@ q.allq THEN 1 ELSE 0 END AS title_all,
           similarity(lower(a.title), q.q) AS title_sim,
           word_similarity(q.q, lower(a.title)) AS title_word_sim,
           word_similarity(q.q, lower(a.body)) AS body_word_sim
    FROM article a, q
    WHERE a.published AND a.language = :lang
      AND (a.search_vector @@ q.anyq OR lower(a.title) % q.q OR q.q <% lower(a.title) OR q.q <% lower(a.body))
    """
)


@dataclass(frozen=True)
class Found:
    article_id: int
    title: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    outcome: str  # "hit" | "weak" | "miss"
    found: tuple[Found, ...]

    @property
    def best(self) -> Found | None:
        return self.found[0] if self.found else None


def config_for(language: str) -> str:
    return "russian" if language == "ru" else "english"


def _score(fts_any: float, fts_all: int, title_all: int, title_sim: float, title_word_sim: float,
           body_word_sim: float) -> float:
    """Every query word in the article, and better in its title, is strong evidence; a typo is
    caught by the trigram similarities instead."""
    full_text = 0.4 * fts_all + 0.3 * title_all + 0.3 * min(1.0, 3 * fts_any)
    return min(1.0, max(full_text, title_sim * 1.1, title_word_sim * 0.9, body_word_sim * 0.6))


async def search(session: AsyncSession, query: str, language: str, limit: int = 5) -> list[Found]:
    query = " ".join(query.split())[:MAX_QUERY]
    if not query or language not in LANGUAGES:
        return []
    rows = (await session.execute(_SEARCH, {"q": query, "cfg": config_for(language), "lang": language})).all()
    found = [Found(r.id, r.title, round(_score(r.fts_any, r.fts_all, r.title_all, r.title_sim, r.title_word_sim,
                                                 r.body_word_sim), 3)) for r in rows]
    found.sort(key=lambda f: (-f.score, f.article_id))
    return found[:limit]


def classify(found: list[Found]) -> SearchResult:
    strong = [f for f in found if f.score >= WEAK]
    if not strong:
        return SearchResult("miss", ())
    best = strong[0]
    runner_up = strong[1].score if len(strong) > 1 else 0.0
    if best.score >= HIT and best.score - runner_up >= 0.05:
        return SearchResult("hit", tuple(strong))
    return SearchResult("weak", tuple(strong[:3]))


async def find_answer(session: AsyncSession, query: str, language: str) -> SearchResult:
    """Search in the customer's language; if nothing there, in the other one."""
    result = classify(await search(session, query, language))
    if result.outcome != "miss":
        return result
    for other in LANGUAGES:
        if other != language:
            fallback = classify(await search(session, query, other))
            if fallback.outcome != "miss":
                return fallback
    return result
