"""An admin in Chromium: a poison update shows up on the dead-letter page live, and "Try again" changes
its row live (failed again while the cause is there, gone once it went through)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bot.flows import hand_off, ticket_messages
from tests.bot.test_dead_letters import Breaker
from tests.botapi.server import TelegramServer
from tests.e2e.test_panel_browser import signed_in_page, until
from tests.web.harness import Panel, make_operator

pytestmark = pytest.mark.browser

ROWS = "#dead-letter-rows tr"


async def test_an_admin_sees_a_dead_letter_and_tries_it_again_live(
    browser: Any, panel: Panel, telegram: TelegramServer, desk_bot: Any, sessions: Any, artifacts_dir: Path
) -> None:
    running = await desk_bot()
    breaker = Breaker("the broken one")
    running.runtime.dispatcher.message.outer_middleware(breaker)
    await make_operator(sessions, "root@example.com", role="admin")
    page = await signed_in_page(browser, panel, "root@example.com", "/inbox")
    await page.click("#admin-menu summary")  # the admin pages are in the header's Administration menu
    await page.click("nav a[href='/admin/dead-letters']")
    await page.wait_for_selector("#conn-state[data-state=live]")
    assert await page.is_visible("#dead-letter-empty")

    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    await telegram.send(anna, "the broken one")
    update_id = telegram.updates[-1]["update_id"]
    await until(page, f"document.querySelectorAll('{ROWS}').length === 1", timeout=20)  # live, no reload
    assert await page.text_content(f"{ROWS} .update-id") == str(update_id)
    assert await page.text_content(f"{ROWS} .attempts") == "5"
    assert "the handler is broken" in (await page.text_content(f"{ROWS} .error") or "")
    assert await page.is_hidden("#dead-letter-empty")

    await page.click(f"{ROWS} button.retry")
    await until(page, f"document.querySelector('{ROWS} .attempts')?.textContent === '6'")
    assert await page.get_attribute(ROWS, "data-state") == "failed"
    assert (await page.text_content("#admin-notice") or "").startswith("Failed again: RuntimeError")
    assert await page.is_enabled(f"{ROWS} button.retry")
    await page.screenshot(path=str(artifacts_dir / "dead-letters-failed-again.png"), full_page=True)

    breaker.on = False
    await page.click(f"{ROWS} button.retry")
    await until(page, f"document.querySelectorAll('{ROWS}').length === 0")
    assert await page.text_content("#admin-notice") == f"Update {update_id} went through."
    assert await page.is_visible("#dead-letter-empty")
    assert [m.body for m in await ticket_messages(sessions, ticket_id)].count("the broken one") == 1
    await page.screenshot(path=str(artifacts_dir / "dead-letters-retry.png"), full_page=True)
    await page.context.close()
