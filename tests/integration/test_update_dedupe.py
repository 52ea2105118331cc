"""Telegram update ids: the Dispatcher built by the production factory handles each update once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Chat, Message, Update, User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import create_dispatcher
from core.models import AuditLog, ProcessedUpdate
from core.services import audit
from core.settings import load_settings
from desk import build_desk


class HandlerFailed(Exception):
    pass


@pytest.fixture
async def dispatcher(database_url: str, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Dispatcher]:
    desk = build_desk(load_settings(_env_file=None, database_url=database_url), database_url)
    dispatcher = create_dispatcher(desk)
    failures: list[str] = dispatcher.workflow_data.setdefault("failures", [])

    async def record(message: Message, session: AsyncSession, event_update: Update) -> None:
        await asyncio.sleep(0.1)  # long enough for a concurrent duplicate to overlap
        if failures and message.text in failures:
            failures.remove(message.text)
            raise HandlerFailed(message.text)
        audit.record(session, actor_kind="customer", actor_id=message.chat.id, action="message.received",
                     object_type="update", object_id=event_update.update_id, text=message.text)

    # On the Dispatcher itself: its own handlers run before the production routers, which would
    # otherwise answer through the Bot API.
    dispatcher.message.register(record)
    yield dispatcher
    await desk.engine.dispose()


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot(token="42:TEST-TOKEN")  # the handler makes no API calls
    yield bot
    await bot.session.close()


def update(update_id: int, text: str) -> Update:
    user = User(id=42, is_bot=False, first_name="Ann")
    message = Message(message_id=update_id, date=datetime.now(UTC), chat=Chat(id=42, type="private"),
                      from_user=user, text=text)
    return Update(update_id=update_id, message=message)


async def recorded(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int | None, str]]:
    async with sessions() as session:
        rows = (await session.scalars(select(AuditLog).order_by(AuditLog.id))).all()
    return [(row.object_id, row.data["text"]) for row in rows]


async def test_redelivered_update_is_skipped(
    dispatcher: Dispatcher, bot: Bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await dispatcher.feed_update(bot, update(1001, "hello"))
    await dispatcher.feed_update(bot, update(1001, "hello"))
    await dispatcher.feed_update(bot, update(1002, "again"))
    assert await recorded(sessions) == [(1001, "hello"), (1002, "again")]


async def test_concurrent_duplicates_are_handled_once(
    dispatcher: Dispatcher, bot: Bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await asyncio.gather(*(dispatcher.feed_update(bot, update(2001, "twice")) for _ in range(3)))
    assert await recorded(sessions) == [(2001, "twice")]


async def test_update_whose_handler_failed_is_handled_on_redelivery(
    dispatcher: Dispatcher, bot: Bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    dispatcher.workflow_data["failures"].append("fragile")
    with pytest.raises(HandlerFailed):
        await dispatcher.feed_update(bot, update(3001, "fragile"))
    async with sessions() as session:
        assert await session.get(ProcessedUpdate, 3001) is None
    await dispatcher.feed_update(bot, update(3001, "fragile"))
    assert await recorded(sessions) == [(3001, "fragile")]
