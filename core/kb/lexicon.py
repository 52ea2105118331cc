"""What the search knows of a language's knowledge base, kept in each process's memory: the published
articles' lexemes with the number of articles holding each (ts_stat), their count, and the synonym
groups (built-in and admins', stemmed). Loaded once per `kb_version` (migration 0027): triggers on
`article` and `kb_synonym` bump that counter in the writer's transaction, every search reads it in the
query it makes anyway, and a process whose copy is older reloads it first, so no process answers from
a vocabulary older than the articles it searches.

Typos are corrected here against the language's own lexemes (never the other language's): a word
the articles do not hold is replaced by the nearest one within one edit (a letter missed, added,
changed or two swapped; two edits for words of eight letters or more), found through a symmetric-delete
index instead of a scan of the vocabulary.
"""

from __future__ import annotations

import bisect
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES
from core.kb.synonyms import BUILT_IN

LONG = 8  # a word this long may be two edits from the one meant; a shorter one, one edit
SHORT = 5  # a word shorter than this is only corrected by a letter it lacks or two letters swapped

_LOAD = {
    language: text(
        "SELECT v.version, v.token, "
        "(SELECT count(*) FROM article WHERE published AND language = :lang) AS n, "
        "(SELECT coalesce(jsonb_object_agg(word, ndoc), '{}') FROM ts_stat("
        f"'SELECT search_vector FROM article WHERE published AND language = ''{language}''')) AS words "
        "FROM (SELECT 1) AS one LEFT JOIN kb_version v ON v.id = 1"
    )
    for language in LANGUAGES
}

_SYNONYMS = text(
    """
    WITH g AS (
        SELECT -d.ord AS gid, d.terms
        FROM jsonb_array_elements(CAST(:built_in AS jsonb)) WITH ORDINALITY AS d(terms, ord)
        UNION ALL SELECT s.id, s.terms FROM kb_synonym s WHERE s.language = :lang
    )
    SELECT g.gid, ARRAY(SELECT t.lexeme FROM unnest(to_tsvector(CAST(:cfg AS regconfig), term.value)) t
                        ORDER BY t.lexeme) AS lexemes
    FROM g, jsonb_array_elements_text(g.terms) AS term
    """
)

Groups = dict[str, frozenset[tuple[str, ...]]]
Phrases = dict[tuple[str, ...], frozenset[tuple[str, ...]]]


@dataclass
class Lexicon:
    version: int | None  # kb_version's when loaded (None: no row, reload every time)
    token: uuid.UUID | None  # which database
    articles: int  # published articles of the language
    ndoc: dict[str, int]  # lexeme -> published articles holding it
    synonyms: Groups  # lexeme -> the terms (tuples of lexemes) of its groups
    phrases: Phrases = field(default_factory=dict)  # "custom servic" -> its groups' terms (terms of several words)
    words: list[str] = field(default_factory=list)  # the lexemes, sorted (prefix look-ups)
    _deletes: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        self.words = sorted(self.ndoc)

    def df(self, lexeme: str) -> int:
        """Articles holding the lexeme; for a prefix ("достав*"), at most the sum over its words."""
        if lexeme.endswith("*"):
            return min(self.articles, sum(self.ndoc[word] for word in self.prefixed(lexeme[:-1])))
        return self.ndoc.get(lexeme, 0)

    def prefixed(self, prefix: str) -> Iterator[str]:
        start = bisect.bisect_left(self.words, prefix)
        for word in self.words[start:]:
            if not word.startswith(prefix):
                return
            yield word

    def has_prefix(self, prefix: str) -> bool:
        return next(self.prefixed(prefix), None) is not None

    def correct(self, word: str) -> tuple[str, int] | None:
        """The knowledge base's lexeme nearest to `word` and the edits between them; None if none is close.
        A short word keeps its first letter (typos rarely change it, and "vase" is not "case"); a very short
        one is only corrected by a letter it lacks or two swapped ("stok": "stock"; "long" is not "log")."""
        if len(word) < 4 or word.isdigit():
            return None
        most = 2 if len(word) >= LONG else 1
        if self._deletes is None:
            self._deletes = _delete_index(self.words)
        candidates = {c for key in _variants(word, most) for c in self._deletes.get(key, ())}
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            if most == 1 and candidate[0] != word[0]:
                continue
            if len(word) < SHORT and (len(candidate) < len(word) or
                                      (len(candidate) == len(word) and sorted(candidate) != sorted(word))):
                continue
            edits = distance(word, candidate)
            if edits <= most and (best is None or (edits, -self.ndoc[candidate], candidate) < best):
                best = (edits, -self.ndoc[candidate], candidate)
        return (best[2], best[0]) if best else None


_CACHE: dict[str, Lexicon] = {}


async def lexicon(session: AsyncSession, language: str, version: int | None, token: uuid.UUID | None) -> Lexicon:
    """The language's lexicon at `version` (what the caller just read from kb_version) or newer."""
    cached = _CACHE.get(language)
    if (cached is not None and version is not None and cached.version is not None and cached.token == token
            and cached.version >= version):
        return cached
    row = (await session.execute(_LOAD[language], {"lang": language})).one()
    words = row.words if isinstance(row.words, dict) else json.loads(row.words)
    cfg = "russian" if language == "ru" else "english"
    rows = (await session.execute(_SYNONYMS, {"built_in": json.dumps(BUILT_IN[language]), "lang": language,
                                              "cfg": cfg})).all()
    loaded = Lexicon(row.version, row.token, int(row.n), {str(k): int(v) for k, v in words.items()}, groups(rows),
                     phrases(rows))
    _CACHE[language] = loaded
    return loaded


def forget() -> None:
    """Drop every cached lexicon (tests that rebuild the database under a running process)."""
    _CACHE.clear()


def groups(rows: Sequence[Row[Any]]) -> Groups:
    """lexeme -> its groups' terms (each a tuple of lexemes), for single-word terms."""
    by_group: dict[int, set[tuple[str, ...]]] = {}
    for row in rows:
        if row.lexemes:
            by_group.setdefault(row.gid, set()).add(tuple(row.lexemes))
    out: Groups = {}
    for terms in by_group.values():
        for term in terms:
            if len(term) == 1:
                out[term[0]] = frozenset(terms) | out.get(term[0], frozenset())
    return out


def phrases(rows: Sequence[Row[Any]]) -> Phrases:
    """The terms of several lexemes (sorted, as stemmed: "customer service" is ("custom", "servic")) ->
    their groups' terms."""
    by_group: dict[int, set[tuple[str, ...]]] = {}
    for row in rows:
        if row.lexemes:
            by_group.setdefault(row.gid, set()).add(tuple(row.lexemes))
    out: Phrases = {}
    for terms in by_group.values():
        for term in terms:
            if len(term) > 1:
                out[term] = frozenset(terms) | out.get(term, frozenset())
    return out


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _variants(word: str, most: int) -> set[str]:
    out = {word} | _deletions(word)
    if most > 1:
        out |= {d2 for d1 in _deletions(word) for d2 in _deletions(d1)}
    return out


def _delete_index(words: list[str]) -> dict[str, list[str]]:
    """Each word under itself and its forms with one letter (two, for long words) deleted: two words
    within `most` edits share a key (symmetric delete), so a correction looks up a few keys."""
    index: dict[str, list[str]] = {}
    for word in words:
        if len(word) < 3 or word.isdigit():
            continue
        for key in _variants(word, 2 if len(word) >= LONG - 1 else 1):
            index.setdefault(key, []).append(word)
    return index


def distance(a: str, b: str) -> int:
    """Edits between two words: a letter inserted, deleted or changed, or two neighbours swapped
    (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]
