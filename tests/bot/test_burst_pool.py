"""A burst of customer messages is handled within the database pool: polling hands a hundred chats
at once to the dispatcher and a webhook gets as many requests at once as Telegram opens connections,
but updates wait for a slot (`core.db.handling_slots`) instead of asking the pool for overflow
connections, which are closed when given back (a server session opened and closed per update)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy import select

from bot.contacts import contact_for_telegram
from core.channels import ChannelRegistry
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.migrate import upgrade
from core.models import Message
from core.services.contacts import TelegramProfile
from core.services.conversations import open_ticket
from tests.botapi import TelegramServer
from tests.botapi.running import WEBHOOK_SECRET, start_desk_bot
from tests.pg import PostgresForTests

POOL = 5
CUSTOMERS = 40
PER_CUSTOMER = 5
FIRST_USER = 7_700_000


@pytest.fixture
async def private_database(pg_server: PostgresForTests) -> AsyncIterator[str]:
    """A database of the test's own: its session counter counts only this desk's connections."""
    name = await pg_server.create_database()
    url = pg_server.url_for(name)
    await upgrade(url)
    yield url


async def customers_with_live_tickets(url: str, channels: ChannelRegistry) -> list[int]:
    engine = create_engine(url, pool_size=1)
    sessions = create_session_factory(engine, channels=channels)
    users = [FIRST_USER + n for n in range(CUSTOMERS)]
    async with sessions() as session, session.begin():
        for user_id in users:
            contact = await contact_for_telegram(session, TelegramProfile(user_id, f"C{user_id}", language_code="en"))
            await open_ticket(session, contact=contact, channel="telegram", queue_slug="general", subject="burst")
    await engine.dispose()
    return users


async def sessions_opened(url: str) -> int:
    """New server sessions of the database so far (a backend's own count is flushed when it exits)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await conn.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))
    finally:
        await conn.close()


def message_update(update_id: int, user_id: int, text: str) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": user_id, "type": "private", "first_name": f"C{user_id}"},
        "from": {"id": user_id, "is_bot": False, "first_name": f"C{user_id}", "language_code": "en"}}}


async def post_all(url: str, updates: list[dict]) -> None:
    """Every update POSTed, as many at once as customers, each chat's in order (as Telegram does)."""
    by_chat: dict[int, list[dict]] = {}
    for item in updates:
        by_chat.setdefault(item["message"]["chat"]["id"], []).append(item)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async def chat(items: list[dict]) -> None:
            for item in items:
                async with http.post(url, json=item, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
                                     ) as response:
                    assert response.status == 200, await response.text()

        await asyncio.gather(*(chat(items) for items in by_chat.values()))


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_burst_opens_no_more_sessions_than_the_pool_holds(
        telegram: TelegramServer, private_database: str, channels: ChannelRegistry, tmp_path: Path,
        mode: str) -> None:
    users = await customers_with_live_tickets(private_database, channels)
    for user_id in users:
        telegram.user(f"C{user_id}", user_id=user_id)
    updates = [message_update(1000 + n, users[n % CUSTOMERS], f"burst {n // CUSTOMERS} from {users[n % CUSTOMERS]}")
               for n in range(CUSTOMERS * PER_CUSTOMER)]
    before = await sessions_opened(private_database)
    running = await start_desk_bot(telegram, private_database, tmp_path, mode=mode, database_pool_size=POOL)
    try:
        if mode == "polling":
            await telegram.wait_for_call("getUpdates", timeout=30)
            async with telegram._changed:  # the whole burst in one getUpdates answer (of 100)
                telegram.updates.extend(updates)
                telegram._changed.notify_all()
            await telegram.settled(timeout=120)
        else:
            assert running.webhook_url is not None
            await post_all(running.webhook_url, updates)
        async with running.sessions() as session:
            stored = (await session.execute(
                select(Message.body).where(Message.author_kind == "customer").order_by(Message.id))).scalars().all()
    finally:
        await running.stop()  # every connection closed: each backend's session count is flushed
    opened = await sessions_opened(private_database) - before - 2  # less the two connections that read it
    assert len(stored) == CUSTOMERS * PER_CUSTOMER
    for user_id in users:  # each chat's messages in the order they were sent
        own = [body for body in stored if body.endswith(f"from {user_id}")]
        assert own == [f"burst {k} from {user_id}" for k in range(PER_CUSTOMER)]
    # The pool's connections and the event listener's own; overflow connections would be many more.
    assert opened <= POOL + 1, f"{opened} server sessions for a pool of {POOL}"
