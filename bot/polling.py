"""Long polling that never confirms an update it did not commit.

aiogram's own loop moves the offset past an update whether or not handling succeeded. Here a batch
is handled (one chat's updates in order, chats in parallel) and the offset moves only past the
updates that were handled; a failed one is fetched again (the ones after it are skipped as
duplicates by `processed_update`).

A failure that is not the update's fault (the database or Telegram is away) never counts against it:
polling stops taking updates until the database answers again, however long that takes. An update
that keeps failing for its own reasons (a poison update) is written to the dead-letter table after a
few tries, where an admin sees it and can run it again, and polling moves on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import MutableMapping
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import dead_letters
from core.db import database_unavailable, handling_slots

log = logging.getLogger(__name__)


STATUS = "bot"
# A getUpdates call still open after this long is held by Telegram (a long poll with nothing to send
# yet), not failing: errors (refused connection, 401, 5xx) come back at once.
HELD_AFTER = 1.0


@dataclass
class DurablePolling:
    bot: Bot
    dispatcher: Dispatcher
    sessions: async_sessionmaker[AsyncSession]
    status: MutableMapping[str, str] = field(default_factory=dict)
    timeout: int = 25
    max_failures: int = 5
    retry_delay: float = 1.0
    unauthorized_delay: float = 30.0
    database_retry_max: float = 2.0
    working: str = "polling"  # the state word while it works; "sandbox" against the desk's own Bot API
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _failures: dict[int, int] = field(default_factory=dict)
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    # Updates handled at once, across chats: no more than the pool can serve (`core.db.handling_slots`).
    slots: asyncio.Semaphore | None = None

    def __post_init__(self) -> None:
        if self.slots is None:
            self.slots = asyncio.Semaphore(handling_slots(self.sessions))

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to stop and wait until the update being handled is finished."""
        self._stop.set()
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            log.warning("polling did not stop in time")

    async def run(self) -> None:
        allowed = self.dispatcher.resolve_used_update_types()
        offset: int | None = None
        self._done.clear()
        await self.dispatcher.emit_startup(bot=self.bot)
        try:
            while not self._stop.is_set():
                fetched = await self._fetch(offset, allowed)
                if fetched is None:
                    continue
                updates, last_id = fetched
                if updates:
                    offset = await self._handle(updates)
                if last_id is not None and (not updates or offset == updates[-1].update_id + 1):
                    offset = max(offset or 0, last_id + 1)
        finally:
            self._done.set()
            await self.dispatcher.emit_shutdown(bot=self.bot)

    async def _fetch(self, offset: int | None, allowed: list[str]) -> tuple[list[Update], int | None] | None:
        """The updates we can read, and the last update id Telegram sent (None: nothing unreadable)."""
        fetch = asyncio.ensure_future(self.bot.get_updates(
            offset=offset, timeout=self.timeout, allowed_updates=allowed,
            request_timeout=self.timeout + int(self.bot.session.timeout or 30)))
        stopping = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait({fetch, stopping}, timeout=HELD_AFTER, return_when=asyncio.FIRST_COMPLETED)
        if not done:  # Telegram holds the long poll: polling works, even while nobody writes
            self._polling()
            done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return None
        stopping.cancel()
        try:
            updates = fetch.result()
        except ClientDecodeError as exc:  # one update we cannot parse must not stop every customer
            return await self._readable(exc.data)
        except TelegramUnauthorizedError as exc:
            if self.status.get(STATUS) != "unauthorized":
                log.error("Telegram refuses the bot token (TELEGRAM_BOT_TOKEN); polling again in a while",
                          extra={"error": str(exc)})
            self.status[STATUS] = "unauthorized"
            await self._pause(self.unauthorized_delay)
        except TelegramConflictError as exc:
            log.error("another poller or a webhook takes this bot's updates", extra={"error": str(exc)})
            self.status[STATUS] = "down"
            await self._pause(self.retry_delay * 5)
        except TelegramRetryAfter as exc:
            await self._pause(float(exc.retry_after))
        except (TelegramNetworkError, TelegramServerError) as exc:
            if not self._stop.is_set():
                log.warning("getUpdates failed", extra={"error": str(exc)})
            self.status[STATUS] = "down"
            await self._pause(self.retry_delay)
        except Exception:  # an answer we cannot parse or a bug: keep polling, loudly
            log.exception("getUpdates raised")
            self.status[STATUS] = "down"
            await self._pause(self.retry_delay)
        else:
            self._polling()
            return updates, None
        return None

    def _polling(self) -> None:
        if self.status.get(STATUS) != self.working:
            log.info("polling Telegram for updates", extra={"state": self.working})
        self.status[STATUS] = self.working

    async def _readable(self, data: object) -> tuple[list[Update], int | None] | None:
        raw = data.get("result") if isinstance(data, dict) else None
        if not isinstance(raw, list) or not raw:
            log.error("getUpdates answer cannot be read", extra={"answer": str(data)[:2000]})
            return None
        updates = []
        for item in raw:
            try:
                updates.append(Update.model_validate(item, context={"bot": self.bot}))
            except ValidationError as exc:
                update_id = item.get("update_id") if isinstance(item, dict) else None
                try:
                    await dead_letters.keep(self.sessions, update_id=update_id if isinstance(update_id, int) else None,
                                            payload=json.dumps(item, ensure_ascii=False), error=str(exc))
                except Exception:
                    log.warning("an unreadable update waits for the database", exc_info=True)
                    await self._wait_for_database()
                    return None  # fetched again once the database answers
        return updates, max(int(item["update_id"]) for item in raw)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return

    async def _handle(self, updates: list[Update]) -> int:
        by_chat: dict[object, list[Update]] = defaultdict(list)
        for update in updates:
            by_chat[_chat_of(update)].append(update)
        results = await asyncio.gather(*(self._handle_chat(items) for items in by_chat.values()))
        failed = sorted(u for chat in results for u in chat.failed)
        if not failed:
            return updates[-1].update_id + 1
        if any(chat.database_away for chat in results):
            await self._wait_for_database()
        else:
            await self._pause(self.retry_delay)
        return failed[0]

    async def _handle_chat(self, updates: list[Update]) -> ChatOutcome:
        """Handles one chat's updates in order; returns the ids to fetch again. Each update waits for a
        slot first, so a batch of a hundred chats holds at most the pool's connections at once."""
        assert self.slots is not None
        for index, update in enumerate(updates):
            try:
                async with self.slots:
                    await self.dispatcher.feed_update(self.bot, update)
            except Exception as exc:
                again = [u.update_id for u in updates[index:]]
                if dead_letters.transient(exc):
                    log.warning("update waits: the database or Telegram is away", extra={
                        "update_id": update.update_id, "error": repr(exc)})
                    return ChatOutcome(again, database_away=database_unavailable(exc))
                count = self._failures.get(update.update_id, 0) + 1
                self._failures[update.update_id] = count
                if count < self.max_failures:
                    log.warning("update failed, will fetch it again",
                                exc_info=True, extra={"update_id": update.update_id, "attempt": count})
                    return ChatOutcome(again)
                try:
                    await dead_letters.keep(self.sessions, update_id=update.update_id,
                                            payload=update.model_dump_json(exclude_none=True, by_alias=True),
                                            error=f"{type(exc).__name__}: {exc}", attempts=count)
                except Exception:
                    log.warning("a failing update waits for the database to be kept", exc_info=True,
                                extra={"update_id": update.update_id})
                    return ChatOutcome(again, database_away=True)
            self._failures.pop(update.update_id, None)
        return ChatOutcome([])

    async def _wait_for_database(self) -> None:
        """Take no more updates until the database answers (Telegram keeps them meanwhile)."""
        delay = self.retry_delay
        while not self._stop.is_set():
            try:
                async with self.sessions() as session:
                    await asyncio.wait_for(session.execute(text("SELECT 1")), 5.0)
                return
            except Exception as exc:
                log.info("polling waits for the database", extra={"error": repr(exc), "in_seconds": delay})
            await self._pause(delay)
            delay = min(delay * 2, self.database_retry_max)


@dataclass(frozen=True)
class ChatOutcome:
    failed: list[int]
    database_away: bool = False


def _chat_of(update: Update) -> object:
    for event in (update.message, update.edited_message, update.callback_query):
        if event is not None and event.from_user is not None:
            return event.from_user.id
    return update.update_id
