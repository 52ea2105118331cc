"""Chromium (Debian's, through Playwright) against a running panel, with the bot side on the
Bot-API test server, all on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.web.harness import Panel, start_panel

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def panel(database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> AsyncIterator[Panel]:
    running = await start_panel(database_url, tmp_path / "panel", ws_heartbeat=5.0)
    yield running
    await running.close()
