"""Missed questions: what customers asked that the knowledge base did not answer (no article, the
answer "did not help", a handoff right after an answer), so admins can add them as example questions.

The dialogue records one row per outcome in the update's own transaction (`record`). The panel lists
them grouped (`groups`): first by `question_key` (the question's sorted stems: the same words in other
order or inflection), then groups whose keys are trigram-similar (pg_trgm similarity >= GROUP_SIMILARITY)
merge. The cost is bounded: only the latest SCAN rows of a language are read, and at most GROUPS keys
are compared pairwise. Rows older than RETENTION go (core.jobs.prune.PruneKbMisses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES
from core.kb.search import MAX_QUERY, question_key
from core.models import KbMiss

OUTCOMES = ("miss", "not_helped", "handoff")
RETENTION = timedelta(days=90)
SCAN = 5000  # the latest rows per language the list reads
GROUPS = 100  # keys compared for merging (the most asked first)
GROUP_SIMILARITY = 0.5
MAX_KEYS = 100  # keys one resolving request may name

_BY_KEY = text(
    """
    WITH recent AS (
        SELECT * FROM kb_miss WHERE language = :lang ORDER BY created_at DESC, id DESC LIMIT :scan
    )
    SELECT question_key AS key, count(*) AS n, max(created_at) AS last,
           (array_agg(question ORDER BY created_at DESC, id DESC))[1] AS example,
           array_agg(DISTINCT outcome) AS outcomes,
           (array_agg(article_id ORDER BY created_at DESC, id DESC) FILTER (WHERE article_id IS NOT NULL))[1]
               AS article_id
    FROM recent GROUP BY question_key
    ORDER BY n DESC, last DESC
    LIMIT :groups
    """
)

_SIMILAR = text(
    """
    SELECT a.i, b.i AS j
    FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS a(k, i)
    JOIN unnest(CAST(:keys AS text[])) WITH ORDINALITY AS b(k, i) ON a.i < b.i
    WHERE similarity(a.k, b.k) >= :similarity
    """
)


@dataclass
class MissGroup:
    language: str
    keys: list[str]
    count: int
    last: datetime
    example: str
    outcomes: set[str] = field(default_factory=set)
    article_id: int | None = None  # the article last shown for it, if any

    def json(self) -> dict[str, Any]:
        return {"language": self.language, "keys": self.keys, "count": self.count, "last": self.last.isoformat(),
                "example": self.example, "outcomes": sorted(self.outcomes), "article_id": self.article_id}


async def record(session: AsyncSession, question: str, language: str, outcome: str,
                 article_id: int | None = None) -> None:
    """One question the knowledge base did not answer, in the caller's transaction."""
    question = " ".join(question.split())[:MAX_QUERY]
    if not question or language not in LANGUAGES or outcome not in OUTCOMES:
        return
    key = await question_key(session, question, language) or question.lower()
    session.add(KbMiss(language=language, question=question, question_key=key, outcome=outcome,
                       article_id=article_id))
    await session.flush()


async def groups(session: AsyncSession, language: str) -> list[MissGroup]:
    """The missed questions of a language, similar ones together, the most asked first."""
    rows = (await session.execute(_BY_KEY, {"lang": language, "scan": SCAN, "groups": GROUPS})).all()
    if not rows:
        return []
    keys = [row.key for row in rows]
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for pair in (await session.execute(_SIMILAR, {"keys": keys, "similarity": GROUP_SIMILARITY})).all():
        a, b = root(pair.i - 1), root(pair.j - 1)
        if a != b:
            parent[max(a, b)] = min(a, b)  # the most asked key (first) stays the group's face
    merged: dict[int, MissGroup] = {}
    for i, row in enumerate(rows):
        group = merged.get(root(i))
        if group is None:
            merged[root(i)] = MissGroup(language, [row.key], row.n, row.last, row.example, set(row.outcomes),
                                        row.article_id)
            continue
        group.keys.append(row.key)
        group.count += row.n
        group.outcomes |= set(row.outcomes)
        if row.last > group.last:
            group.last = row.last
            group.article_id = row.article_id or group.article_id
    return sorted(merged.values(), key=lambda g: (-g.count, -g.last.timestamp()))


async def resolve(session: AsyncSession, language: str, keys: list[str]) -> int:
    """Take a group off the list (answered by an example question, or dismissed); returns the rows gone."""
    result = await session.execute(delete(KbMiss).where(KbMiss.language == language,
                                                        KbMiss.question_key.in_(keys[:MAX_KEYS])))
    return int(getattr(result, "rowcount", 0))
