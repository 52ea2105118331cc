"""The bot's @username for t.me links, when the settings or Telegram can tell it."""

from __future__ import annotations

import logging

from core.settings import Settings

log = logging.getLogger(__name__)


async def bot_username(settings: Settings) -> str | None:
    """TELEGRAM_BOT_USERNAME, else Telegram's answer to getMe; None when neither is there (no token,
    Telegram unreachable or refusing): the caller then shows the `/start` command instead."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username
    if settings.telegram_bot_token is None or not settings.bot_enabled:
        return None
    from aiogram.exceptions import TelegramAPIError
    from aiohttp import ClientError

    from bot.factory import create_bot

    bot = create_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base, timeout=10)
    try:
        return (await bot.get_me()).username
    except (TelegramAPIError, ClientError, OSError, TimeoutError) as error:
        log.info("could not ask Telegram for the bot's username", extra={"error": repr(error)})
        return None
    finally:
        await bot.session.close()
