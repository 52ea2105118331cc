"""Customers of a drill: each asks for a human, so what they write becomes messages of their ticket."""

from __future__ import annotations

import asyncpg

from tests.bot.flows import TOPIC_LABEL
from tests.botapi import TelegramServer, TgUser


async def hand_off(telegram: TelegramServer, user: TgUser, timeout: float = 30.0) -> int:
    """/human, then the technical topic (as tests/bot/flows.hand_off, with room for a loaded machine)."""
    mark = telegram.mark()
    await telegram.send(user, "/human")
    topics = await telegram.wait_for_call(
        "sendMessage", lambda c: c.chat_id == user.id and any(b["callback_data"].startswith("t:") for b in c.buttons),
        since=mark, timeout=timeout)
    await telegram.press(user, topics, topics.button(TOPIC_LABEL["en"])["callback_data"])
    opened = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == user.id and "#" in c.text,
                                          since=mark, timeout=timeout)
    return int(opened.text.split("#")[1].split()[0].rstrip(".:"))


def delivered_texts(telegram: TelegramServer, chat_id: int | None = None) -> list[str]:
    return [c.text for c in telegram.calls_of("sendMessage") if chat_id is None or c.chat_id == chat_id]


async def stored_bodies(dsn: str, author_kind: str) -> dict[str, int]:
    """How many message rows hold each body."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch("SELECT body, count(*) AS n FROM message WHERE author_kind = $1 GROUP BY body",
                                author_kind)
    finally:
        await conn.close()
    return {row["body"]: row["n"] for row in rows}


async def dead_letters(dsn: str) -> list[str]:
    """The dead letters kept, described for a failure message (a transient fault must leave none)."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch("SELECT * FROM dead_letter ORDER BY id")
    finally:
        await conn.close()
    return [str(dict(row))[:300] for row in rows]
