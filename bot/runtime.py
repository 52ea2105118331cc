"""The bot's parts for one process: Bot, Dispatcher, how updates arrive, the Telegram channel."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramUnauthorizedError
from aiohttp import web

from bot.channel import create_telegram_channel
from bot.commands import register_commands
from bot.dead_letters import Replayer
from bot.dialogue import telegram_adapter
from bot.factory import create_bot, create_dispatcher
from bot.outbound import telegram_kinds
from bot.polling import DurablePolling
from bot.webhook import WebhookHandler
from core import dead_letters
from core.context import Desk
from core.outbox import Channel
from core.supervisor import Supervisor

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
    replayer: Replayer | None = None

    @classmethod
    def create(cls, desk: Desk, *, receive: bool) -> BotRuntime:
        token = desk.settings.telegram_bot_token
        assert token is not None
        bot = create_bot(token.get_secret_value(), desk.settings.telegram_api_base, handles_updates=True)
        channel = create_telegram_channel(desk, bot, telegram_kinds())
        desk.channels.attach(telegram_adapter(desk, bot, channel))
        return cls(desk=desk, bot=bot, dispatcher=create_dispatcher(desk), receive=receive,
                   channels={channel.name: channel})

    @property
    def webhook_mode(self) -> bool:
        return bool(self.desk.settings.telegram_webhook_url)

    @property
    def needs_web(self) -> bool:
        return self.receive and self.webhook_mode

    def start(self, supervisor: Supervisor) -> None:
        """Supervised parts: how updates arrive (polling, or registering the webhook) and the
        dead-letter replayer. Nothing here waits for Telegram: the desk starts while it is away."""
        if not self.receive:
            return
        self.replayer = Replayer(self.bot, self.dispatcher, self.desk.sessions)
        self.desk.listener.on(dead_letters.CHANNEL, self.replayer.wake)
        supervisor.start("bot", self._webhook if self.webhook_mode else self._poll)
        supervisor.start("dead_letters", self.replayer.run, reports_state=False)

    async def _register_commands(self) -> None:
        try:
            await register_commands(self.bot, self.desk.translator)
        except TelegramUnauthorizedError:
            raise
        except Exception:  # the menu is a nicety; the bot works without it
            log.warning("setMyCommands failed", exc_info=True)

    async def _poll(self) -> None:
        status = self.desk.components
        try:
            await self._register_commands()
            await self.bot.delete_webhook(drop_pending_updates=False)
        except TelegramUnauthorizedError as exc:
            status["bot"] = "unauthorized"
            log.error("Telegram refuses the bot token (TELEGRAM_BOT_TOKEN)", extra={"error": str(exc)})
        self.polling = DurablePolling(self.bot, self.dispatcher, self.desk.sessions, status=status,
                                      working="sandbox" if self.desk.settings.telegram_sandbox else "polling")
        await self.polling.run()

    async def _webhook(self) -> None:
        """Register the webhook, retrying while Telegram is away or refuses the token; then hold."""
        settings = self.desk.settings
        secret = settings.telegram_webhook_secret
        assert secret is not None and settings.telegram_webhook_url is not None
        delay = 1.0
        while True:
            try:
                await self._register_commands()
                await self.bot.set_webhook(
                    settings.telegram_webhook_url + WEBHOOK_PATH,
                    secret_token=secret.get_secret_value(),
                    allowed_updates=self.dispatcher.resolve_used_update_types(),
                )
                break
            except TelegramUnauthorizedError as exc:
                self.desk.components["bot"] = "unauthorized"
                log.error("Telegram refuses the bot token (TELEGRAM_BOT_TOKEN)", extra={"error": str(exc)})
                delay = 30.0
            except Exception as exc:
                self.desk.components["bot"] = "down"
                log.warning("setWebhook failed; trying again", extra={"error": repr(exc), "in_seconds": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
        self.desk.components["bot"] = "webhook"
        await asyncio.Event().wait()  # until the supervisor cancels it at shutdown

    def attach_webhook(self, app: web.Application) -> None:
        if not self.needs_web:
            return
        secret = self.desk.settings.telegram_webhook_secret
        assert secret is not None
        WebhookHandler(self.dispatcher, self.bot, secret_token=secret.get_secret_value(),
                       sessions=self.desk.sessions).register(app, path=WEBHOOK_PATH)

    async def stop_receiving(self) -> None:
        """Stop taking updates (polling); the Bot stays open for the deliveries still in flight."""
        if self.replayer is not None:
            self.replayer.stop()
        if self.polling is not None:
            await self.polling.stop()

    async def close(self) -> None:
        await self.stop_receiving()
        await self.bot.session.close()
