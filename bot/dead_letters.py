"""Updates the bot could not handle: kept in core's dead-letter table, run again when an admin asks."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import dead_letters
from core.db import database_unavailable

log = logging.getLogger(__name__)

SOURCE = "telegram"


def transient(exc: BaseException) -> bool:
    """A failure that is nobody's input's fault: the database or Telegram is away for a while."""
    return database_unavailable(exc) or isinstance(
        exc, TelegramNetworkError | TelegramServerError | TelegramRetryAfter)


async def keep(sessions: async_sessionmaker[AsyncSession], *, update_id: int | None, payload: str,
               error: str, attempts: int = 1) -> int:
    """Write the update to the dead-letter table in a transaction of its own (raises if the
    database is away: the caller must then not move past the update)."""
    async with sessions() as session, session.begin():
        letter_id = await dead_letters.record(
            session, source=SOURCE, external_id=None if update_id is None else str(update_id),
            payload=payload, error=error, attempts=attempts)
    log.error("update kept as a dead letter", extra={"update_id": update_id, "dead_letter_id": letter_id,
                                                     "error": error[:500]})
    return letter_id


class Replayer:
    """Runs again the dead letters an admin asked to retry (woken by NOTIFY, and once a minute)."""

    def __init__(self, bot: Bot, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession],
                 period: float = 60.0) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._sessions = sessions
        self._period = period
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self, payload: str = SOURCE) -> None:
        if payload == SOURCE:
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self._wake.set()
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._period)
            self._wake.clear()
            if not self._stopping:
                await self.run_once()

    async def run_once(self) -> int:
        async with self._sessions() as session, session.begin():
            retries = await dead_letters.take_retries(session, SOURCE)
            for retry in retries:
                error = await self._replay(retry.payload)
                await dead_letters.settle(session, retry.id, error)
                log.info("dead letter retried", extra={"dead_letter_id": retry.id, "error": error})
        return len(retries)

    async def _replay(self, payload: str) -> str | None:
        try:
            update = Update.model_validate_json(payload, context={"bot": self._bot})
            await self._dispatcher.feed_update(self._bot, update)
        except Exception as exc:
            if database_unavailable(exc):
                raise
            return f"{type(exc).__name__}: {exc}"
        return None
