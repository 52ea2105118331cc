"""The Telegram delivery channel: the outbox hands it a Delivery, a registered `kind` sends it.

Areas add kinds in their own modules (`reply` and `text` live in bot/outbound/); the channel maps
Telegram's answers to the outbox's outcomes: 429 -> RetryLater(retry_after), 5xx and timeouts ->
RetryLater, 403 -> RecipientGone, 400 -> PermanentFailure.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiohttp import ClientError

from bot.ratelimit import RateLimiter
from core.context import Desk
from core.outbox import Delivery, PermanentFailure, RecipientGone, RetryLater

log = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"


@dataclass(frozen=True)
class Sender:
    """What a kind gets: the bot, the desk (sessions, storage, translator) and the pace keeper."""

    bot: Bot
    desk: Desk
    limiter: RateLimiter

    async def paced(self, chat_id: int) -> None:
        await self.limiter.wait(chat_id)


Kind = Callable[[Sender, Delivery], Awaitable[dict[str, Any]]]


class TelegramChannel:
    name = CHANNEL_NAME

    def __init__(self, sender: Sender, kinds: Mapping[str, Kind]) -> None:
        self.sender = sender
        self.kinds = dict(kinds)

    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        kind = self.kinds.get(delivery.kind)
        if kind is None:
            raise PermanentFailure(f"telegram channel has no kind {delivery.kind!r}")
        try:
            return await kind(self.sender, delivery)
        except TelegramRetryAfter as exc:
            raise RetryLater(f"429: {exc.message}", retry_after=float(exc.retry_after)) from exc
        except TelegramForbiddenError as exc:
            raise RecipientGone(f"403: {exc.message}") from exc
        except (TelegramBadRequest, TelegramEntityTooLarge, TelegramMigrateToChat) as exc:
            raise PermanentFailure(f"400: {exc.message}") from exc
        except (TelegramNetworkError, ClientError, TimeoutError) as exc:
            raise RetryLater(f"network: {exc}") from exc
        # TelegramServerError (5xx) and the rest (401/404/409: our configuration) retry with backoff.


def create_telegram_channel(desk: Desk, bot: Bot, kinds: Mapping[str, Kind]) -> TelegramChannel:
    settings = desk.settings
    limiter = RateLimiter(global_rate=settings.telegram_rate_global, chat_rate=settings.telegram_rate_per_chat)
    return TelegramChannel(Sender(bot, desk, limiter), kinds)
