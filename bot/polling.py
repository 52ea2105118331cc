"""Long polling that never confirms an update it did not commit.

aiogram's own loop moves the offset past an update whether or not handling succeeded. Here a batch
is handled (one chat's updates in order, chats in parallel) and the offset moves only past the
updates that were handled; a failed one is fetched again (the ones after it are skipped as
duplicates by `processed_update`). An update that keeps failing is given up after a few tries, loudly.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.exceptions import ClientDecodeError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Update
from pydantic import ValidationError

log = logging.getLogger(__name__)


@dataclass
class DurablePolling:
    bot: Bot
    dispatcher: Dispatcher
    timeout: int = 25
    max_failures: int = 5
    retry_delay: float = 1.0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _failures: dict[int, int] = field(default_factory=dict)
    _done: asyncio.Event = field(default_factory=asyncio.Event)

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
        done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return None
        stopping.cancel()
        try:
            return fetch.result(), None
        except ClientDecodeError as exc:  # one update we cannot parse must not stop every customer
            return self._readable(exc.data)
        except TelegramRetryAfter as exc:
            await self._pause(float(exc.retry_after))
        except (TelegramNetworkError, TelegramServerError) as exc:
            if not self._stop.is_set():
                log.warning("getUpdates failed", extra={"error": str(exc)})
            await self._pause(self.retry_delay)
        except Exception:  # an answer we cannot parse or a bug: keep polling, loudly
            log.exception("getUpdates raised")
            await self._pause(self.retry_delay)
        return None

    def _readable(self, data: object) -> tuple[list[Update], int | None] | None:
        raw = data.get("result") if isinstance(data, dict) else None
        if not isinstance(raw, list) or not raw:
            log.error("getUpdates answer cannot be read", extra={"answer": str(data)[:2000]})
            return None
        updates = []
        for item in raw:
            try:
                updates.append(Update.model_validate(item, context={"bot": self.bot}))
            except ValidationError:
                log.exception("update cannot be read; skipped", extra={"update_id": item.get("update_id"),
                                                                        "update": str(item)[:2000]})
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
        failed = sorted(u for chat in results for u in chat)
        if not failed:
            return updates[-1].update_id + 1
        await self._pause(self.retry_delay)
        return failed[0]

    async def _handle_chat(self, updates: list[Update]) -> list[int]:
        """Handles one chat's updates in order; returns the ids to fetch again."""
        for index, update in enumerate(updates):
            try:
                await self.dispatcher.feed_update(self.bot, update)
            except Exception:
                count = self._failures.get(update.update_id, 0) + 1
                self._failures[update.update_id] = count
                if count < self.max_failures:
                    log.warning("update failed, will fetch it again",
                                exc_info=True, extra={"update_id": update.update_id, "attempt": count})
                    return [u.update_id for u in updates[index:]]
                log.exception("update given up after repeated failures",
                          extra={"update_id": update.update_id, "update": update.model_dump_json(exclude_none=True)})
            self._failures.pop(update.update_id, None)
        return []


def _chat_of(update: Update) -> object:
    for event in (update.message, update.edited_message, update.callback_query):
        if event is not None and event.from_user is not None:
            return event.from_user.id
    return update.update_id
