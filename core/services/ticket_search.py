"""The inbox's search (issue 20): which tickets match a text, how well, and the line that matched.

Every source is read from an index (migration 0028) and capped, so a common word costs what a rare
one does: full text in the 'russian' configuration (it stems Cyrillic words in Russian and Latin ones in
English; messages carry no language) over message and note bodies and subjects; trigrams (pg_trgm)
for what full text splits or cannot stem — numbers, e-mail addresses, phone numbers, partial words —
over the same texts, customer names and identity addresses. The snippet is cut for the page's rows
only, by `ts_headline` on the one row that matched, with control characters as markers that become
`[text, marked]` parts: no HTML ever comes from the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CONFIG = "russian"
CAP = 1_000  # rows read per source: never a scan of every match
SHOWN = 1_000  # the count shown: exact below it, "1,000+" from it on (or "N+" when a source was capped)
RECENT = 200_000  # messages: a common word's candidates are its newest CAP matches among these
START, STOP = "\x01", "\x02"
NUMBER = re.compile(r"#?(\d{1,18})")
LITERAL = re.compile(r"[\d@+._-]")  # a number, an address, a phone: full text splits these
SNIPPET_CHARS = 240

_WORDS = f"websearch_to_tsquery('{CONFIG}', :q)"
_DOC = "to_tsvector('{config}'::regconfig, {column})"


def _fts(table: str, column: str, ticket: str, extra: str = "") -> str:
    doc = _DOC.format(config=CONFIG, column=column)
    return (f"SELECT {ticket} AS ticket_id, id AS row_id, ts_rank({doc}, {_WORDS}) AS rank FROM {table} "
            f"WHERE {doc} @@ {_WORDS} {extra} LIMIT :cap")


# Messages: the newest CAP matches among the newest RECENT messages (ranked afterwards, so ts_rank
# recomputes the vector of those rows only), then, if fewer, any older matches up to CAP in all.
_MESSAGE_DOC = _DOC.format(config=CONFIG, column="body")
_RANK = f"ts_rank({_DOC.format(config=CONFIG, column='m.body')}, {_WORDS})"
MESSAGE_RECENT = (f"SELECT m.ticket_id, m.id AS row_id, {_RANK} AS rank FROM (SELECT id FROM message "
                  f"WHERE {_MESSAGE_DOC} @@ {_WORDS} AND id > :floor ORDER BY id DESC LIMIT :cap) AS newest "
                  "JOIN message AS m ON m.id = newest.id")
MESSAGE_OLDER = _fts("message", "body", "ticket_id", "AND id <= :floor").replace("LIMIT :cap", "LIMIT :rest")
NOTE = _fts("note", "body", "ticket_id")
SUBJECT = _fts("ticket", "subject::text", "id")
LIKE = {
    "message": "SELECT ticket_id, id AS row_id FROM message WHERE body ILIKE :like LIMIT :cap",
    "note": "SELECT ticket_id, id AS row_id FROM note WHERE body ILIKE :like LIMIT :cap",
    "subject": "SELECT id AS ticket_id, id AS row_id FROM ticket WHERE subject ILIKE :like LIMIT :cap",
}
# A customer's name or address: their newest tickets.
PEOPLE = """
SELECT t.id AS ticket_id, t.id AS row_id FROM (
    SELECT id FROM contact WHERE name ILIKE :like
    UNION SELECT contact_id FROM contact_identity WHERE external_id ILIKE :like
    LIMIT :cap) AS c
CROSS JOIN LATERAL (SELECT id FROM ticket WHERE contact_id = c.id ORDER BY id DESC LIMIT 5) AS t
"""
# Weights: a word in the subject or a customer's name says more than one line of a long dialog.
WEIGHT = {"subject": 2.0, "name": 1.5, "message": 1.0, "note": 1.0}
LIKE_RANK = 0.05  # below any full-text hit of the same source


@dataclass(frozen=True)
class Hit:
    ticket_id: int
    rank: float
    source: str  # message | note | subject | name
    row_id: int  # the message's or note's id (the ticket's for subject and name)


@dataclass(frozen=True)
class Found:
    hits: list[Hit]  # best hit per ticket, best first
    capped: bool  # some source had more rows than CAP: the count is at least what was found ("N+")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Any]:
    return list((await session.execute(text(sql), params)).all())


async def find(session: AsyncSession, query: str) -> Found:
    """Candidate tickets for `query` with their best hit: each source one capped index read."""
    params: dict[str, Any] = {"q": query, "cap": CAP, "like": f"%{_escape_like(query)}%"}
    # A bitmap larger than work_mem turns lossy and rechecks rows by recomputing to_tsvector: room for it.
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    params["floor"] = int(await session.scalar(text("SELECT coalesce(max(id), 0) FROM message")) or 0) - RECENT
    found: list[tuple[str, Any]] = []
    capped = False
    for source, sql in (("message", MESSAGE_RECENT), ("note", NOTE), ("subject", SUBJECT)):
        rows = await _rows(session, sql, params)
        if source == "message" and len(rows) < CAP:
            rows += await _rows(session, MESSAGE_OLDER, {**params, "rest": CAP - len(rows)})
        capped = capped or len(rows) >= CAP
        found += [(source, row) for row in rows]
    # Substrings: always in names and addresses (short, and not in the full-text indexes); in the texts
    # for what full text splits (numbers, addresses, phones) or did not find at all (part of a word).
    likes = [("name", PEOPLE)] if len(query) >= 3 else []
    if len(query) >= 3 and (LITERAL.search(query) is not None or not found):
        likes += list(LIKE.items())
    for source, sql in likes:
        rows = await _rows(session, sql, params)
        capped = capped or len(rows) >= CAP
        found += [(source, _Like(row.ticket_id, row.row_id)) for row in rows]
    best: dict[int, Hit] = {}
    for source, row in found:
        hit = Hit(row.ticket_id, float(row.rank) * WEIGHT[source], source, row.row_id)
        if hit.ticket_id not in best or hit.rank > best[hit.ticket_id].rank:
            best[hit.ticket_id] = hit
    return Found(sorted(best.values(), key=lambda h: (-h.rank, -h.ticket_id)), capped)


@dataclass(frozen=True)
class _Like:
    ticket_id: int
    row_id: int
    rank: float = LIKE_RANK


_OPTIONS = f"'StartSel=\"{START}\", StopSel=\"{STOP}\", MaxWords=24, MinWords=8, MaxFragments=1'"
_CLEAN = "left(translate({column}, E'\\x01\\x02', ''), 4000)"  # our markers never come from the text
TEXTS = {"message": ("message", "body"), "note": ("note", "body"), "subject": ("ticket", "subject")}


def _headlines(table: str, column: str) -> str:
    clean = _CLEAN.format(column=column)
    return (f"SELECT id, {clean} AS body, ts_headline('{CONFIG}', {clean}, {_WORDS}, {_OPTIONS}) AS marked "
            f"FROM {table} WHERE id = ANY(:ids)")


async def snippets(session: AsyncSession, hits: list[Hit], query: str) -> dict[int, list[tuple[str, bool]]]:
    """The matched line of each hit (by ticket id) as parts `(text, marked)`, one query per source for
    the page's rows; a customer's name has none (the row shows it)."""
    found: dict[int, list[tuple[str, bool]]] = {}
    for source, (table, column) in TEXTS.items():
        mine = [hit for hit in hits if hit.source == source]
        if not mine:
            continue
        rows = {row.id: row for row in (await session.execute(
            text(_headlines(table, column)), {"ids": [hit.row_id for hit in mine], "q": query})).all()}
        for hit in mine:
            row = rows.get(hit.row_id)
            if row is None:
                continue
            parts = _split(row.marked) if hit.rank > LIKE_RANK * WEIGHT[source] else []
            found[hit.ticket_id] = parts if any(mark for _, mark in parts) else _around(row.body, query)
    return found


def _split(marked: str) -> list[tuple[str, bool]]:
    parts: list[tuple[str, bool]] = []
    for i, piece in enumerate(re.split(f"[{START}{STOP}]", marked)):
        if piece:
            parts.append((piece, i % 2 == 1))
    return parts


def _around(body: str, query: str) -> list[tuple[str, bool]]:
    """A substring hit (a number, an address, part of a word): the text around it, the hit marked."""
    at = body.casefold().find(query.casefold())
    if at < 0:
        return [(body[:SNIPPET_CHARS], False)] if body else []
    start = max(0, at - SNIPPET_CHARS // 2)
    end = min(len(body), at + len(query) + SNIPPET_CHARS // 2)
    before, hit, after = body[start:at], body[at:at + len(query)], body[at + len(query):end]
    return [(part, mark) for part, mark in ((("…" if start else "") + before, False), (hit, True),
                                               (after + ("…" if end < len(body) else ""), False)) if part]


def ticket_number(query: str) -> int | None:
    """`123` or `#123`: a ticket's (or an order's) number."""
    match = NUMBER.fullmatch(query.strip())
    return int(match.group(1)) if match else None
