"""The bot's parts for one process: Bot, Dispatcher, how updates arrive, the Telegram channel."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.channel import create_telegram_channel
from bot.commands import register_commands
from bot.factory import create_bot, create_dispatcher
from bot.outbound import telegram_kinds
from bot.polling import DurablePolling
from core.context import Desk
from core.outbox import Channel

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"


@dataclass
class BotRuntime:
    desk: Desk
    bot: Bot
    dispatcher: Dispatcher
    receive: bool
    channels: dict[str, Channel] = field(default_factory=dict)
    polling: DurablePolling | None = None

    @classmethod
    def create(cls, desk: Desk, *, receive: bool) -> BotRuntime:
        token = desk.settings.telegram_bot_token
        assert token is not None
        bot = create_bot(token.get_secret_value(), desk.settings.telegram_api_base)
        channel = create_telegram_channel(desk, bot, telegram_kinds())
        return cls(desk=desk, bot=bot, dispatcher=create_dispatcher(desk), receive=receive,
                   channels={channel.name: channel})

    @property
    def webhook_mode(self) -> bool:
        return bool(self.desk.settings.telegram_webhook_url)

    @property
    def needs_web(self) -> bool:
        return self.receive and self.webhook_mode

    async def start(self, spawn: Callable[[Awaitable[None]], None]) -> None:
        if not self.receive:
            return
        try:
            await register_commands(self.bot, self.desk.translator)
        except Exception:  # the menu is a nicety; the bot works without it
            log.warning("setMyCommands failed", exc_info=True)
        if self.webhook_mode:
            settings = self.desk.settings
            secret = settings.telegram_webhook_secret
            assert secret is not None and settings.telegram_webhook_url is not None
            await self.bot.set_webhook(
                settings.telegram_webhook_url + WEBHOOK_PATH,
                secret_token=secret.get_secret_value(),
                allowed_updates=self.dispatcher.resolve_used_update_types(),
            )
            self.desk.components["bot"] = "webhook"
        else:
            spawn(self._poll())
            self.desk.components["bot"] = "polling"

    async def _poll(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        self.polling = DurablePolling(self.bot, self.dispatcher)
        await self.polling.run()

    def attach_webhook(self, app: web.Application) -> None:
        if not self.needs_web:
            return
        secret = self.desk.settings.telegram_webhook_secret
        assert secret is not None
        SimpleRequestHandler(
            self.dispatcher, self.bot, handle_in_background=False, secret_token=secret.get_secret_value()
        ).register(app, path=WEBHOOK_PATH)

    async def stop_receiving(self) -> None:
        """Stop taking updates (polling); the Bot stays open for the deliveries still in flight."""
        if self.polling is not None:
            await self.polling.stop()

    async def close(self) -> None:
        await self.stop_receiving()
        await self.bot.session.close()
