"""A desk with its built-in Telegram sandbox, in-process: the panel (production app factory, sandbox
mounted at /sandbox on its loopback port) and the bot side (BotRuntime polling that sandbox, the outbox
worker), on the test database — what `desk run` without a token runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.botapi.running import RunningDesk, start_desk_bot
from tests.drills.postgres import free_port
from tests.web.harness import Panel, start_panel
from web.sandbox.app import SANDBOX
from web.sandbox.server import TelegramServer


@dataclass
class SandboxDesk:
    panel: Panel
    bot: RunningDesk

    @property
    def server(self) -> TelegramServer:
        return self.panel.app[SANDBOX].server

    async def close(self) -> None:
        await self.bot.stop()
        await self.panel.close()


async def start_sandbox_desk(database_url: str, data_dir: Path, **config: Any) -> SandboxDesk:
    port = free_port()
    panel = await start_panel(database_url, data_dir / "panel", {"telegram_sandbox": True}, port=port, **config)
    server = panel.app[SANDBOX].server
    server.port = port
    bot = await start_desk_bot(server, database_url, data_dir / "bot", telegram_sandbox=True,
                               telegram_bot_username=server.username)
    return SandboxDesk(panel, bot)
