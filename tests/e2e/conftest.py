"""Chromium (Debian's, through Playwright; the `browser` fixture is tests.browser's) against a running
panel, with the bot side on the Bot-API test server, all on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.web.harness import Panel, start_panel


@pytest.fixture
async def panel(database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> AsyncIterator[Panel]:
    running = await start_panel(database_url, tmp_path / "panel", ws_heartbeat=5.0)
    yield running
    await running.close()
