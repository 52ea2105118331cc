"""The webhook: 200 once an update is committed or kept as a dead letter, 503 while it cannot be.

Telegram re-sends an update it got no 2xx for, and holds every later update behind it for up to a day,
so an update we cannot use (garbage, not an update, a handler that keeps failing on it) is written to
the dead-letter table and answered 200; only a transient fault (the database or Telegram away)
answers 503, so Telegram re-sends it once we can take it.

Requests beyond what the database pool serves wait for a slot before they touch the database
(`core.db.handling_slots`): a burst costs waiting, never connections opened and closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import dead_letters
from core.db import handling_slots

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


class WebhookHandler(SimpleRequestHandler):
    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str,
                 sessions: async_sessionmaker[AsyncSession], slots: asyncio.Semaphore | None = None) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)
        self._sessions = sessions
        self._slots = slots or asyncio.Semaphore(handling_slots(sessions))

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        body = await request.read()
        async with self._slots:
            return await self._handle_body(bot, body)

    async def _handle_body(self, bot: Bot, body: bytes) -> web.Response:
        update_id: int | None = None
        try:
            data = json.loads(body)
            update_id = _update_id(data)
            update = Update.model_validate(data, context={"bot": bot})
        except (ValueError, TypeError, RecursionError, ValidationError) as exc:
            return await self._keep(update_id, body.decode("utf-8", "replace"), f"not a usable update: {exc}")
        try:
            result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        except Exception as exc:
            if dead_letters.transient(exc):
                log.warning("webhook update refused for now: the database or Telegram is away",
                            extra={"update_id": update_id, "error": repr(exc)})
                return _unavailable()
            return await self._keep(update_id, body.decode("utf-8", "replace"), f"{type(exc).__name__}: {exc}")
        return web.Response(body=self._build_response_writer(bot=bot, result=result))

    async def _keep(self, update_id: int | None, payload: str, error: str) -> web.Response:
        try:
            await dead_letters.keep(self._sessions, update_id=update_id, payload=payload, error=error)
        except Exception as exc:
            log.warning("webhook update could not be kept; Telegram will send it again",
                        extra={"update_id": update_id, "error": repr(exc)})
            return _unavailable()
        return web.json_response({})


def _update_id(data: Any) -> int | None:
    if isinstance(data, dict):
        value = data.get("update_id")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
            return value
    return None


def _unavailable() -> web.Response:
    return web.json_response({"ok": False, "description": "try again later"}, status=503,
                             headers={"Retry-After": RETRY_AFTER_SECONDS})
