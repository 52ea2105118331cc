"""The desk's bot side for one test: Desk, BotRuntime (polling or webhook), OutboxWorker, listener."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.runtime import WEBHOOK_PATH, BotRuntime
from core.context import Desk
from core.outbox import Backoff, OutboxWorker
from core.settings import load_settings
from core.supervisor import Supervisor
from desk import build_desk, create_outbox_worker
from tests.botapi.server import TelegramServer

WEBHOOK_SECRET = "test-webhook-secret"


@dataclass
class RunningDesk:
    desk: Desk
    runtime: BotRuntime
    worker: OutboxWorker
    supervisor: Supervisor
    webhook_url: str | None = None
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _stopped: bool = False

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.desk.sessions

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.supervisor.close()
        self.worker.stop()
        await self.runtime.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.supervisor.stop()
        await self.worker.close()
        await self.desk.listener.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.desk.engine.dispose()


async def start_desk_bot(
    telegram: TelegramServer, database_url: str, data_dir: Path, *, mode: str = "polling", **overrides: Any
) -> RunningDesk:
    values: dict[str, Any] = {
        "database_url": database_url,
        "desk_data_dir": data_dir,
        "telegram_bot_token": telegram.token,
        "telegram_api_base": telegram.base,
    }
    if mode == "webhook":
        values["telegram_webhook_url"] = "http://127.0.0.1:1"  # replaced once the port is known
        values["telegram_webhook_secret"] = WEBHOOK_SECRET
    values.update(overrides)
    settings = load_settings(**values)
    desk = build_desk(settings, database_url)
    runtime = BotRuntime.create(desk, receive=True)
    worker = create_outbox_worker(desk, dict(runtime.channels))
    worker.backoff = Backoff(base=0.05, cap=0.5, max_attempts=worker.backoff.max_attempts)
    worker.idle_seconds = 0.5
    desk.outbox = worker
    supervisor = Supervisor(desk.components)
    running = RunningDesk(desk, runtime, worker, supervisor)
    supervisor.start("listener", desk.listener.run)
    with contextlib.suppress(TimeoutError):
        await desk.listener.wait_connected(5.0)
    if mode == "webhook":
        app = web.Application()
        runtime.attach_webhook(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, shutdown_timeout=0.5)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        running._runner = runner
        desk.settings = settings.model_copy(update={"telegram_webhook_url": f"http://127.0.0.1:{port}"})
        running.webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    runtime.start(supervisor)
    supervisor.start("outbox", worker.run)
    return running
