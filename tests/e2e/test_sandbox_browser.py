"""Staff in Chromium on /sandbox: a made-up customer asks the real bot (polling the desk's own Bot API)
a knowledge-base question, gets the article with its buttons, asks for a human; the operator's reply
from the panel shows up live in the phone view. The banner is on every panel page; /sandbox wants a
sign-in; the phone layout fits 390 px without sideways scrolling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.kb.transfer import import_articles, read_articles
from tests.e2e.test_panel_browser import signed_in_page, ticket_id_of, until
from tests.sandbox.harness import SandboxDesk, start_sandbox_desk
from tests.web.harness import login, make_operator

pytestmark = pytest.mark.browser
SEED = Path(__file__).resolve().parents[1] / "bot" / "kb_seed.json"


@pytest.fixture
async def sandbox_desk(database_url: str, sessions: Any, tmp_path: Path) -> AsyncIterator[SandboxDesk]:
    running = await start_sandbox_desk(database_url, tmp_path, ws_heartbeat=5.0)
    yield running
    await running.close()


async def test_a_customer_in_the_sandbox_gets_an_article_asks_for_a_human_and_sees_the_reply_live(
        browser: Any, sandbox_desk: SandboxDesk, sessions: Any, tmp_path: Path) -> None:
    panel = sandbox_desk.panel
    async with sessions() as session, session.begin():
        await import_articles(session, read_articles(SEED))
    await make_operator(sessions, "olga@example.com")
    page = await signed_in_page(browser, panel, "olga@example.com", "/inbox")
    assert "Sandbox — no real Telegram" in await page.inner_text("#sandbox-banner")

    await page.goto(panel.url("/sandbox"))
    await until(page, "window.deskSandbox && window.deskSandbox.live === true")
    await page.fill("#sandbox-new-user input[name=first_name]", "Ann <b>")
    await page.click("#sandbox-new-user button[type=submit]")
    phone = page.locator(".tg-phone.active")
    await phone.wait_for()
    await phone.locator(".tg-input").fill("how do I reset my password?")
    await phone.locator(".tg-send").click()
    article = phone.locator(".tg-in", has_text="How to reset your password")
    await article.wait_for(timeout=15000)
    assert await article.locator(".tg-text b").first.inner_text() == "How to reset your password"
    assert await article.locator("button.tg-button", has_text="This helped").count() == 1
    await article.locator("button.tg-button", has_text="human").click()
    topics = phone.locator(".tg-in", has_text="What is it about?")
    await topics.wait_for(timeout=15000)
    await topics.locator("button.tg-button", has_text="Something else").click()
    await phone.locator(".tg-in", has_text="is open").wait_for(timeout=15000)
    ticket_id = await ticket_id_of(sessions)

    operator = panel.client()
    csrf = await login(panel, operator, "olga@example.com")
    async with operator.post(panel.url(f"/api/tickets/{ticket_id}/messages"),
                             json={"body": "Hello from <i>Olga</i>, we are on it"},
                             headers={"X-CSRF-Token": csrf, "Origin": panel.origin}) as r:
        assert r.status in (200, 201), await r.text()
    reply = phone.locator(".tg-in", has_text="we are on it")
    await reply.wait_for(timeout=20000)
    assert "<i>Olga</i>" in await reply.inner_text(), "customer-visible text stays text"
    assert await page.locator(".tg-head strong").first.inner_text() == "Ann <b>"
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.screenshot(path=str(tmp_path / "sandbox-1280x800.png"), full_page=True)

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.wait_for_timeout(200)
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    await page.screenshot(path=str(tmp_path / "sandbox-390x844.png"), full_page=True)
    assert overflow <= 0, f"the phone layout scrolls sideways by {overflow}px"
    assert await phone.is_visible()


async def test_sandbox_wants_a_sign_in(browser: Any, sandbox_desk: SandboxDesk) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(sandbox_desk.panel.url("/sandbox"))
    await page.wait_for_url("**/login?next=/sandbox")
    assert "Sandbox — no real Telegram" in await page.inner_text("#sandbox-banner")
    await context.close()
