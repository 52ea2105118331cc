"""The knowledge base's word list (table kb_word): every lexeme of the published articles of a language
with the number of articles holding it, from PostgreSQL's ts_stat. The search corrects a word the
articles do not have to its nearest lexeme here (trigram similarity), so it is rebuilt whenever
articles change: after an edit, a delete, or a whole import."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES

log = logging.getLogger(__name__)

_LOCK = 7201021  # advisory lock: one rebuild at a time, so two editors never race on the same rows
_REBUILD = {
    language: text(
        "INSERT INTO kb_word (language, word, ndoc) SELECT :lang, word, ndoc FROM ts_stat("
        f"'SELECT search_vector FROM article WHERE published AND language = ''{language}''')"
    )
    for language in LANGUAGES
}


async def rebuild(session: AsyncSession, languages: tuple[str, ...] = LANGUAGES) -> None:
    """Rebuild in the caller's transaction: readers keep the old list until it commits."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    for language in languages:
        await session.execute(text("DELETE FROM kb_word WHERE language = :lang"), {"lang": language})
        await session.execute(_REBUILD[language], {"lang": language})
    log.debug("kb vocabulary rebuilt", extra={"languages": list(languages)})
