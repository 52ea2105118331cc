"""Article search for questions as customers write them: sentences with filler words, inflections,
typos, synonyms, Russian in Latin letters and the wrong keyboard layout.

1. Reading (`_terms`): each word of the question is stemmed by PostgreSQL's russian/english full-text
   configuration (stop words drop out). A word no article holds is read again in the other keyboard
   layout and transliterated (core/kb/spelling.py), then corrected to the nearest word of the
   knowledge base (edit distance, core/kb/lexicon.py) unless it is a real word of the language as typed
   (core/kb/wordlist.py: "socks" is no typo of "stock"). A word still unknown is spelled as the nearest
   real word of the language and stemmed again ("trackign": "tracking", "track"; one more round trip,
   only then); still unknown, it counts against the match as filler the knowledge base has nothing on.
2. Synonyms (core/kb/synonyms.py) widen each word to its group: "shipping" also finds "delivery". A
   synonym of several words the question holds ("customer service", "личный кабинет") is read as one
   term of its group, not as its words one by one.
3. Ranking (`_rank`): the words are OR-combined; each weighs by its BM25 inverse document frequency
   from PostgreSQL (how many published articles hold it), fully when it is in an article's head
   (title, tags, example questions: weight A) and less when only in its body; a word of everyday speech
   (wordfreq: "take", "come", "new") keeps only a share of it (`everyday`). The score in [0, 1] is
   the share of the question's weight the article covers, discounted when what matched is only
   common words. Ties break towards the article whose title is most about the question's words
   (TITLE_FOCUS) and then where they are most frequent (ts_rank, TF). `classify` turns scores into a
   hit, a few suggestions, or a miss.

4. Feedback (`_adjust`): "helped" and "did not help" votes given after this very question (the same
   `question_key`: its sorted stems) move an article's score by at most ±FEEDBACK_CAP, each vote
   counting half as much every FEEDBACK_HALF_LIFE_DAYS, so old votes fade and no vote outweighs the text.

`find_answer` is the one entry point the bot, the website chat and the panel's preview use.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES
from core.kb.filler import filler_positions
from core.kb.lexicon import Lexicon, lexicon
from core.kb.spelling import readings
from core.kb.synonyms import phrase_words
from core.kb.wordlist import is_real, nearest_word, zipf

HIT = 0.45  # confident enough to answer with the article
WEAK = 0.3  # worth suggesting
MARGIN = 0.05  # ... and answered only this far ahead of the next one (tuned on the main set: 0.06 answered fewer)
MAX_QUERY = 300
MAX_WORDS = 24
BODY = 0.5  # a word found only in an article's body counts half as much as one in its head
FIX_SIMILARITY = 0.5  # a typo is corrected to a knowledge-base word at least this similar
UNKNOWN = 0.35  # an unknown word weighs this share of the rarest word's weight against the match
UNKNOWN_CAP = 0.4  # ... and all of them together at most this share: a long sentence is mostly filler
SPECIFIC = 0.5  # a match on common words only keeps this share of its coverage
SYNONYM = 0.8  # a synonym's match counts this share of the word's own
TITLE_FOCUS = 0.12  # an article whose whole title is the question's words gains this much (ties break)
EVERYDAY = (5.0, 6.0)  # Zipf frequencies between which a typed word's weight falls from all of it...
EVERYDAY_FLOOR = 0.1  # ... to this share ("get", "time", "new" as typed words)
TF = 0.02  # the article where the question's words are most frequent (ts_rank) gains up to this much (ties break)
PHRASE = 0.5  # a word read from a phrase ("how long" -> "time") weighs this share of a typed one: it breaks ties
COMMON = 0.05  # a word in more than this share of the articles (and in over 50) does not bring candidates
FEEDBACK_STEP = 0.05  # one fresh vote after the same question moves the article's score this much...
FEEDBACK_CAP = 0.1  # ... and all votes together at most this much, either way
FEEDBACK_HALF_LIFE_DAYS = 30.0

_KEY = text(
    """
    SELECT DISTINCT t.lexeme
    FROM unnest(CAST(:chunks AS text[])) AS c(txt), unnest(to_tsvector(CAST(:cfg AS regconfig), c.txt)) AS t
    """
)

_ADJUST = text(
    """
    SELECT f.article_id, count(*) FILTER (WHERE f.helpful) AS helped,
           count(*) FILTER (WHERE NOT f.helpful) AS not_helped,
           sum(CASE WHEN f.helpful THEN 1.0 ELSE -1.0 END
               * power(0.5, extract(epoch FROM now() - f.created_at) / 86400.0 / CAST(:half_life AS float8))) AS net
    FROM article_feedback f
    WHERE f.question_key = :key AND f.article_id = ANY(CAST(:ids AS bigint[]))
    GROUP BY f.article_id
    """
)

_LEXEMES = text(
    """
    SELECT r.chunk, r.reading, t.lexeme, v.version, v.token
    FROM unnest(CAST(:chunks AS int[]), CAST(:readings AS int[]), CAST(:texts AS text[])) AS r(chunk, reading, txt)
         CROSS JOIN unnest(to_tsvector(CAST(:cfg AS regconfig), r.txt)) AS t
         LEFT JOIN kb_version v ON v.id = 1
    """
)
_RESTEM = text(
    """
    SELECT r.chunk, t.lexeme
    FROM unnest(CAST(:chunks AS int[]), CAST(:texts AS text[])) AS r(chunk, txt),
         unnest(to_tsvector(CAST(:cfg AS regconfig), r.txt)) AS t
    """
)

_RANK = text(
    """
    WITH w AS (
        SELECT CAST(q AS tsquery) AS q, CAST(h AS tsquery) AS h, CAST(sq AS tsquery) AS sq,
               CAST(sh AS tsquery) AS sh, idf
        FROM unnest(CAST(:queries AS text[]), CAST(:heads AS text[]), CAST(:syn AS text[]), CAST(:synheads AS text[]),
                    CAST(:idfs AS float8[])) AS w(q, h, sq, sh, idf)
    ), c AS MATERIALIZED (
        -- `|| ''` reads each candidate's vector out of TOAST once, not once per word tested below
        SELECT a.id, a.title, a.search_vector || CAST('' AS tsvector) AS sv FROM article a
        WHERE a.published AND a.language = :lang AND a.search_vector @@ CAST(:anyq AS tsquery)
    )
    SELECT top.id, top.title, top.raw, top.matched,
           -- how often the question's words occur (ties break on it), for the few best only (cheap)
           ts_rank(top.sv, CAST(:every AS tsquery), 1) AS tf,
           -- the share of the title's words the question holds, for the few best only (cheap)
           (SELECT CAST(count(*) FILTER (WHERE t.lexeme = ANY(CAST(:qlex AS text[]))) AS float8) / greatest(count(*), 1)
            FROM unnest(to_tsvector(CAST(:cfg AS regconfig), top.title)) AS t) AS focus,
           -- customers' votes after this very question (`_adjust`), same round trip
           (SELECT sum(CASE WHEN f.helpful THEN 1.0 ELSE -1.0 END
                       * power(0.5, extract(epoch FROM now() - f.created_at) / 86400.0 / CAST(:half_life AS float8)))
            FROM article_feedback f WHERE :key <> '' AND f.question_key = :key AND f.article_id = top.id) AS net
    FROM (
        SELECT c.id, c.title, c.sv, s.raw, s.matched
        FROM c, LATERAL (
            SELECT sum(CASE WHEN c.sv @@ w.q OR c.sv @@ w.sq THEN w.idf ELSE 0 END) AS matched,
                   sum(w.idf * CASE WHEN c.sv @@ w.h THEN 1.0
                                    WHEN c.sv @@ w.sh THEN CAST(:synonym AS float8)
                                    WHEN c.sv @@ w.q THEN CAST(:body AS float8)
                                    WHEN c.sv @@ w.sq THEN CAST(:body AS float8) * CAST(:synonym AS float8)
                                    ELSE 0 END) AS raw FROM w
        ) s
        ORDER BY s.raw DESC, c.id
        LIMIT :limit
    ) top
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


@dataclass
class Reading:
    """What the question says: the words the knowledge base knows (each a set of alternative
    lexeme tuples: the word, its synonyms) and how many words it does not know."""

    terms: list[tuple[str, frozenset[tuple[str, ...]]]] = field(default_factory=list)
    unknown: float = 0.0  # the unknown words' weight, in shares of the rarest word's (UNKNOWN each)
    hinted: set[str] = field(default_factory=set)  # lexemes read from a phrase (PHRASES), not typed
    everyday: dict[str, float] = field(default_factory=dict)  # lexeme -> its weight's share (`everyday`), below 1
    key: str = ""  # the question's own stems, sorted: what feedback votes are kept under (`question_key`)


def config_for(language: str) -> str:
    return "russian" if language == "ru" else "english"


async def search(session: AsyncSession, query: str, language: str, limit: int = 5) -> list[Found]:
    query = " ".join(query.split())[:MAX_QUERY]
    if not query or language not in LANGUAGES:
        return []
    reading, lexicon = await _terms(session, query, language)
    if not reading.terms or lexicon is None:
        return []
    return _adjust(await _rank(session, reading, lexicon, language, limit))


def _chunks(query: str) -> list[str]:
    return re.findall(r"\S+", " ".join(query.split())[:MAX_QUERY].lower().replace("ё", "е"))[:MAX_WORDS]


async def question_key(session: AsyncSession, query: str, language: str) -> str:
    """The question's stems, sorted and space-separated: the same question in other word order or
    inflection has the same key (the search's `Reading.key`; what misses group and votes count by)."""
    if language not in LANGUAGES:
        return ""
    lexemes = await session.scalars(_KEY, {"chunks": _chunks(query), "cfg": config_for(language)})
    return " ".join(sorted(lexemes))


async def _terms(session: AsyncSession, query: str, language: str) -> tuple[Reading, Lexicon | None]:
    """One query stems every reading of every word and reads kb_version; the rest is the lexicon's."""
    asked = _chunks(query)
    chunks = asked + [word for word in phrase_words(" ".join(asked), language) if word not in asked]
    ids: list[int] = []
    kinds: list[int] = []
    texts: list[str] = []
    for n, chunk in enumerate(chunks):
        for k, variant in enumerate(readings(chunk, language)):
            ids.append(n)
            kinds.append(k)
            texts.append(variant)
    rows = (await session.execute(_LEXEMES, {"chunks": ids, "readings": kinds, "texts": texts,
                                             "cfg": config_for(language)})).all()
    reading = Reading(key=" ".join(sorted({row.lexeme for row in rows if row.reading == 0 and row.chunk < len(asked)})))
    if not rows:
        return reading, None
    lex = await lexicon(session, language, rows[0].version, rows[0].token)
    by_chunk: dict[int, dict[int, list[Lexeme]]] = {}
    for row in rows:
        by_chunk.setdefault(row.chunk, {}).setdefault(row.reading, []).append(_lexeme_of(row.lexeme, lex))
    synonyms = lex.synonyms
    seen: set[str] = set()
    unknown: dict[int, str] = {}  # the words read as nothing the knowledge base knows, by position
    filler = filler_positions(asked, language)
    consumed = _phrases(reading, lex, {row.lexeme for row in rows
                                       if row.reading == 0 and row.chunk < len(asked) and row.chunk not in filler})
    for n in range(len(chunks)):
        if n in filler:
            continue  # "please", "something", "подскажите": no topic, whatever articles hold them
        typed = {item.lexeme for item in by_chunk.get(n, {}).get(0, [])}
        if typed and typed <= consumed:
            continue  # read with its neighbours as a synonym of several words ("customer service")
        variants = by_chunk.get(n)
        if not variants or len(variants) < len(readings(chunks[n], language)):
            continue  # a stop word (in one of its readings): filler
        surface = _EDGES.sub("", chunks[n])
        lexemes = _known(variants, synonyms, fix_typed=not is_real(surface, language))
        if not lexemes:
            unknown[n] = surface
            continue
        _add(reading, lexemes, seen, synonyms, hinted=n >= len(asked), share=everyday(surface, language))
    await _spelled(session, reading, lex, unknown, seen, language)
    return reading, lex


def _add(reading: Reading, lexemes: list[str], seen: set[str], synonyms: dict[str, frozenset[tuple[str, ...]]],
         hinted: bool, share: float = 1.0) -> None:
    """Each lexeme once as a term of the question, with its synonyms; `hinted`: read from a phrase;
    `share`: of its idf the word keeps (`everyday`)."""
    for lexeme in lexemes:
        if lexeme not in seen and not lexeme.isdigit():  # a number alone tells no topic
            seen.add(lexeme)
            if hinted:
                reading.hinted.add(lexeme)
            if share < 1.0:
                reading.everyday[lexeme] = share
            reading.terms.append((lexeme, synonyms.get(lexeme, frozenset()) - {(lexeme,)}))


async def _spelled(session: AsyncSession, reading: Reading, lex: Lexicon, unknown: dict[int, str], seen: set[str],
                   language: str) -> None:
    """Words still unknown, spelled as the nearest real word of the language (core/kb/wordlist.py) and
    stemmed again: a typo whose stem is not the article's ("trackign": "tracking", "track") is then read as
    that word, and one of a stop word ("сколко": "сколько") as filler. Any other stays unknown (UNKNOWN)."""
    fixes = {n: fixed for n, word in unknown.items() if (fixed := nearest_word(word, language))}
    reading.unknown += UNKNOWN * (len(unknown) - len(fixes))
    if not fixes:
        return
    order = sorted(fixes)
    rows = (await session.execute(_RESTEM, {"chunks": order, "texts": [fixes[n] for n in order],
                                            "cfg": config_for(language)})).all()
    stems: dict[int, list[str]] = {}
    for row in rows:
        stems.setdefault(row.chunk, []).append(row.lexeme)
    for n in order:
        if n not in stems:
            continue  # a stop word, spelled right: filler
        known = [lexeme for lexeme in stems[n] if lex.df(lexeme) or lexeme in lex.synonyms]
        if known:
            _add(reading, known, seen, lex.synonyms, hinted=False)
        else:
            reading.unknown += UNKNOWN


def _phrases(reading: Reading, lex: Lexicon, typed: set[str]) -> set[str]:
    """The synonyms of several words whose lexemes all are among the question's typed ones, in any order
    ("customer service", "pay later", "личный кабинет"; longest first), each read as one term of its group,
    so "customer" is not read alone (as "customs", the same stem). Returns the lexemes they took."""
    consumed: set[str] = set()
    for phrase in sorted(lex.phrases, key=lambda p: (-len(p), p)):
        if set(phrase) <= typed - consumed:
            consumed |= set(phrase)
            reading.terms.append((" ".join(phrase), lex.phrases[phrase] - {phrase}))
    return consumed


@dataclass(frozen=True)
class Lexeme:
    """One stemmed word of one reading, with what the knowledge base has of it."""

    lexeme: str
    df: int  # published articles holding it
    fixed: str | None  # the nearest knowledge-base word, when it has none
    edits: int  # ... and how far it is
    stem: str | None  # a shorter stem articles do hold ("доставля" -> "достав*" finds "доставка")


def _lexeme_of(lexeme: str, lex: Lexicon) -> Lexeme:
    df = lex.df(lexeme)
    if df:
        return Lexeme(lexeme, df, None, 0, None)
    stem = lexeme[:max(5, len(lexeme) - 2)] if len(lexeme) >= 6 else None
    if stem is not None and lex.has_prefix(stem):
        return Lexeme(lexeme, 0, None, 0, stem)
    fixed = lex.correct(lexeme)
    return Lexeme(lexeme, 0, fixed[0] if fixed else None, fixed[1] if fixed else 0, None)


_EDGES = re.compile(r"^[^\w]+|[^\w]+$")


def _known(variants: dict[int, list[Lexeme]], synonyms: dict[str, frozenset[tuple[str, ...]]],
           fix_typed: bool = True) -> list[str]:
    """The words of the reading the knowledge base holds (the question as typed first), else another
    form of the same word (a shorter stem), else the word as typed if the synonyms know it ("rejected":
    no article says it, "declined" is its synonym), else the closest correction of any reading, else nothing."""
    best: list[str] = []
    for kind in sorted(variants):
        known = [item.lexeme for item in variants[kind] if item.df > 0]
        if len(known) > len(best):
            best = known
    if best:
        return best
    for kind in sorted(variants):
        stems = [item.stem + "*" for item in variants[kind] if item.stem]
        if stems:
            return stems
    typed = [item.lexeme for item in variants.get(0, []) if item.lexeme in synonyms]
    if typed:
        return typed
    fixes = [(item.edits, kind, item.fixed) for kind in sorted(variants) for item in variants[kind]
             if item.fixed and (kind or fix_typed)]  # a real word as typed is no typo ("socks": not "stock")
    return [min(fixes)[2]] if fixes else []


def _tsquery(alternatives: frozenset[tuple[str, ...]], weight: str = "") -> str:
    parts = []
    for lexemes in sorted(alternatives):
        words = " & ".join(_lexeme(lexeme, weight) for lexeme in lexemes)
        parts.append(f"( {words} )" if len(lexemes) > 1 else words)
    return " | ".join(parts)


def _lexeme(lexeme: str, weight: str) -> str:
    """A tsquery operand; a trailing "*" (a stem, see `_known`) is a prefix match."""
    prefix = lexeme.endswith("*")
    quoted = "'" + lexeme.rstrip("*").replace("\\", "\\\\").replace("'", "''") + "'"
    marks = ("*" if prefix else "") + weight
    return f"{quoted}:{marks}" if marks else quoted


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _term_idf(n: int, df: int, lexeme: str, lex: Lexicon) -> float:
    """A word weighs its idf; a synonym of several words ("send back") as much as its words would have
    weighed read one by one (a word no article holds as the rarest), so reading them as one term does not
    make the question's topic weigh less than its other words."""
    if " " not in lexeme:
        return _idf(n, df)
    return sum(_idf(n, max(1, lex.df(part))) for part in lexeme.split(" "))


def _df(alternatives: frozenset[tuple[str, ...]], lex: Lexicon) -> int:
    """Articles holding any of the alternatives, from the lexicon's counts: at most their sum (an
    article holding two of them counts twice: the word weighs a little less than it might)."""
    return min(lex.articles, sum(min(lex.df(lexeme) for lexeme in term) for term in alternatives))


async def _rank(session: AsyncSession, reading: Reading, lex: Lexicon, language: str, limit: int) -> list[Found]:
    """A word weighs by the rarity of the word itself where articles hold it, else by its synonyms'."""
    n = lex.articles
    if n == 0:
        return []
    own = [frozenset({tuple(lexeme.split(" "))}) for lexeme, _ in reading.terms]  # a phrase: its lexemes
    synonyms = [alternatives or own_ for own_, (_, alternatives) in zip(own, reading.terms, strict=True)]
    wide = [_tsquery(own_ | syn) for own_, syn in zip(own, synonyms, strict=True)]
    term_dfs = [lex.df(lexeme) or _df(own_ | alternatives, lex)
                for own_, (lexeme, alternatives) in zip(own, reading.terms, strict=True)]
    idfs = [_term_idf(n, df, lexeme, lex) * (PHRASE if lexeme in reading.hinted else 1.0)
            * reading.everyday.get(lexeme, 1.0)
            for df, (lexeme, _) in zip(term_dfs, reading.terms, strict=True)]
    rarest = _idf(n, 1)
    found_rows = (await session.execute(_RANK, {
        "queries": [_tsquery(term) for term in own], "heads": [_tsquery(term, "A") for term in own],
        "syn": [_tsquery(t) for t in synonyms], "synheads": [_tsquery(t, "A") for t in synonyms], "idfs": idfs,
        "body": BODY, "synonym": SYNONYM,
        "lang": language, "anyq": _candidates(wide, term_dfs, n),
        "every": " | ".join(f"( {query} )" for query in wide), "limit": limit, "cfg": config_for(language),
        "qlex": sorted({lexeme for term in own + synonyms for alternative in term for lexeme in alternative}),
        "key": reading.key, "half_life": FEEDBACK_HALF_LIFE_DAYS,
    })).all()
    # A word the synonym dictionary knows as a shop word but no article holds ("parcel" where there is no
    # article on parcels) says the question is about something else: it weighs as much as the rarest word.
    absent = sum(1 for df in term_dfs if df == 0)
    weight = sum(idf for idf, df in zip(idfs, term_dfs, strict=True) if df > 0) + absent * rarest
    weight += min(reading.unknown, UNKNOWN_CAP) * rarest
    most = max((r.tf for r in found_rows), default=0.0) or 1.0
    found = [Found(r.id, r.title, _adjusted(min(1.0, _focused(_score(r.raw, r.matched, weight, rarest), r.focus)
                                                 + TF * r.tf / most), r.net))
             for r in found_rows]
    found.sort(key=lambda f: (-f.score, f.article_id))
    return found


@dataclass(frozen=True)
class Adjustment:
    helped: int
    not_helped: int
    value: float  # added to the article's score for this question, within ±FEEDBACK_CAP


def adjustment(net: float) -> float:
    return max(-FEEDBACK_CAP, min(FEEDBACK_CAP, FEEDBACK_STEP * net))


async def adjustments(session: AsyncSession, key: str, article_ids: list[int]) -> dict[int, Adjustment]:
    """The votes given after the question `key` to each of the articles, and what they add to its score."""
    if not key or not article_ids:
        return {}
    rows = (await session.execute(_ADJUST, {"key": key, "ids": article_ids,
                                            "half_life": FEEDBACK_HALF_LIFE_DAYS})).all()
    return {row.article_id: Adjustment(row.helped, row.not_helped, round(adjustment(float(row.net or 0)), 3))
            for row in rows}


_BY_QUESTION = text(
    """
    SELECT f.question_key AS key, (array_agg(f.query ORDER BY f.created_at DESC))[1] AS question,
           count(*) FILTER (WHERE f.helpful) AS helped, count(*) FILTER (WHERE NOT f.helpful) AS not_helped,
           sum(CASE WHEN f.helpful THEN 1.0 ELSE -1.0 END
               * power(0.5, extract(epoch FROM now() - f.created_at) / 86400.0 / CAST(:half_life AS float8))) AS net
    FROM article_feedback f
    WHERE f.article_id = :id AND f.question_key <> ''
    GROUP BY f.question_key
    ORDER BY count(*) DESC, f.question_key
    LIMIT :limit
    """
)


async def adjustments_of(session: AsyncSession, article_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """What votes do to one article's ranking, per question (the panel shows it to admins)."""
    rows = (await session.execute(_BY_QUESTION, {"id": article_id, "half_life": FEEDBACK_HALF_LIFE_DAYS,
                                                 "limit": limit})).all()
    return [{"question": row.question, "key": row.key, "helped": row.helped, "not_helped": row.not_helped,
             "adjustment": round(adjustment(float(row.net or 0)), 3)} for row in rows]


def _adjusted(score: float, net: Any) -> float:
    """Customers' votes after the same question nudge its articles' scores (bounded, fading)."""
    if net is not None:
        score = max(0.0, min(1.0, score + round(adjustment(float(net)), 3)))
    return round(score, 3)


def _adjust(found: list[Found]) -> list[Found]:
    found.sort(key=lambda f: (-f.score, f.article_id))
    return found


def _candidates(queries: list[str], dfs: list[int], n: int) -> str:
    """The articles worth scoring: those holding a word that is not common, if the question has one.
    An article holding only common words scores low anyway (it covers little of the question's weight),
    and scoring every article that says "order" would cost a large knowledge base its speed."""
    limit = max(50, n * COMMON)
    rare = [query for query, df in zip(queries, dfs, strict=True) if 0 < df <= limit]
    return " | ".join(f"( {query} )" for query in (rare or queries))


def _score(raw: float, matched: float, weight: float, rarest: float) -> float:
    """The share of the question's weight the article covers, discounted when the words it shares
    are all common ones (together rarer than the rarest single word: no discount)."""
    if weight <= 0 or raw <= 0:
        return 0.0
    coverage = min(1.0, raw / weight)
    specific = min(1.0, matched / rarest)
    return coverage * (SPECIFIC + (1 - SPECIFIC) * specific)


def everyday(word: str, language: str) -> float:
    """The share of its weight a word keeps for how common it is in the language at large (wordfreq's
    Zipf scale): a word of everyday speech ("take", "come", "go") is rare in a shop's articles, so its
    idf is high, but it says little of what the question is about: from EVERYDAY[0] up it weighs less,
    down to EVERYDAY_FLOOR at EVERYDAY[1]."""
    low, high = EVERYDAY
    return max(EVERYDAY_FLOOR, min(1.0, (high - zipf(word, language)) / (high - low)))


def _focused(score: float, focus: float) -> float:
    """Of articles the question covers alike, the one whose title is most about the question's words
    ("Tracking your parcel" over "An item is missing from the parcel" for "where is my parcel") leads:
    up to TITLE_FOCUS more for the share of its title's words the question holds."""
    return min(1.0, score + TITLE_FOCUS * focus) if score > 0 else 0.0


def classify(found: list[Found]) -> SearchResult:
    strong = [f for f in found if f.score >= WEAK]
    if not strong:
        return SearchResult("miss", ())
    best = strong[0]
    runner_up = strong[1].score if len(strong) > 1 else 0.0
    if best.score >= HIT and best.score - runner_up >= MARGIN:
        return SearchResult("hit", tuple(strong))
    return SearchResult("weak", tuple(strong[:3]))


_SCRIPTS = {"en": re.compile(r"[a-z]", re.IGNORECASE), "ru": re.compile(r"[а-яё]", re.IGNORECASE)}


def written_in(query: str, language: str) -> bool:
    """The question is written in `language`'s alphabet (mostly): Latin for English, Cyrillic for Russian."""
    own = len(_SCRIPTS[language].findall(query))
    return own > 0 and own >= sum(len(p.findall(query)) for lang, p in _SCRIPTS.items() if lang != language)


async def find_answer(session: AsyncSession, query: str, language: str) -> SearchResult:
    """Search in the customer's language; if nothing there, in the other one when the question is written
    in its alphabet (a Russian speaker asking in English). A question in the customer's own alphabet is
    not read as the other language: its typos, layout and transliteration are the first search's business,
    and read the other way they only make up words ("out of stok" is no Russian)."""
    result = classify(await search(session, query, language))
    if result.outcome != "miss":
        return result
    for other in LANGUAGES:
        if other != language and written_in(query, other):
            fallback = classify(await search(session, query, other))
            if fallback.outcome != "miss":
                return fallback
    return result
