"""pytest fixtures: `telegram` (the Bot API test server) and `desk_bot` (the desk's bot side, running)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.botapi.running import RunningDesk, start_desk_bot
from tests.botapi.server import TelegramServer


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramServer]:
    server = TelegramServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def desk_bot(
    telegram: TelegramServer, database_url: str, sessions: Any, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[RunningDesk]]]:
    """`await desk_bot()` (long polling) or `await desk_bot(mode="webhook")`; settings overrides as keywords.
    Several calls run several desk processes' worth of parts (e.g. to play a restart). All stop at teardown;
    `sessions` makes the test's rows vanish afterwards."""
    started: list[RunningDesk] = []

    async def start(mode: str = "polling", **overrides: Any) -> RunningDesk:
        running = await start_desk_bot(telegram, database_url, tmp_path, mode=mode, **overrides)
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        await running.stop()
