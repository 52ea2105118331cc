"""An operator in Chromium: live inbox, replying to a Telegram customer, reconnecting without losing or
doubling messages, and customer text that stays text."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.models import Ticket
from tests.botapi.server import TelegramServer
from tests.web.harness import Panel, make_operator
from web.keys import HUB

pytestmark = pytest.mark.browser


async def operator_page(browser: Any, panel: Panel, sessions: Any, email: str = "olga@example.com") -> Any:
    await make_operator(sessions, email)
    return await signed_in_page(browser, panel, email, "/inbox")


async def signed_in_page(browser: Any, panel: Panel, email: str, home: str) -> Any:
    """A browser tab signed in as `email`, on its home page with the live connection up."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    await page.goto(panel.url("/login"))
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", "correct horse battery")
    await page.click("button[type=submit]")
    await page.wait_for_url(panel.url(home))
    await page.wait_for_selector("#conn-state[data-state=live]")
    return page


async def customer_opens_ticket(telegram: TelegramServer, user: Any, first: str) -> None:
    mark = telegram.mark()
    await telegram.send(user, "/human")
    topics = await telegram.wait_for_call("sendMessage", lambda c: bool(c.buttons), since=mark)
    await telegram.press(user, topics, topics.button("Something else")["callback_data"])
    await telegram.wait_for_call("sendMessage", lambda c: "is open" in c.text, since=mark)
    await telegram.send(user, first)


async def ticket_id_of(sessions: Any) -> int:
    for _ in range(100):
        async with sessions() as session:
            found = await session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1))
        if found is not None:
            return int(found)
        await asyncio.sleep(0.05)
    raise AssertionError("no ticket")


async def until(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll an expression (page.wait_for_function would need 'unsafe-eval', which our CSP refuses)."""
    async with asyncio.timeout(timeout):
        while not await page.evaluate(expression):
            await asyncio.sleep(0.05)


async def texts(page: Any, selector: str) -> list[str]:
    return await page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.textContent)")


async def test_operator_sees_a_customer_live_replies_and_survives_a_dropped_socket(
    browser: Any, panel: Panel, telegram: TelegramServer, desk_bot: Any, sessions: Any, artifacts_dir: Path
) -> None:
    await desk_bot()
    page = await operator_page(browser, panel, sessions)
    sounds_before = int(await page.evaluate("Number(document.body.dataset.soundCount || 0)"))
    customer = telegram.user("Ann", username="ann_k")
    await customer_opens_ticket(telegram, customer, "Where is my parcel?")
    ticket_id = await ticket_id_of(sessions)

    # the inbox shows it live, with its unread badge, the title counter and a sound
    row = page.locator(f"tr[data-ticket-id='{ticket_id}']")
    await row.wait_for()
    await until(page, "document.title.startsWith('(')")
    await row.locator(".unread-count").wait_for()
    assert int(await page.evaluate("Number(document.body.dataset.soundCount || 0)")) > sounds_before
    await page.screenshot(path=str(artifacts_dir / "inbox.png"), full_page=True)

    # the ticket: the message, the reply with Enter, typing forwarded, the customer receives it
    await row.locator("a").first.click()
    await page.wait_for_url(panel.url(f"/tickets/{ticket_id}"))
    await page.wait_for_selector("li.msg.customer >> text=Where is my parcel?")
    await page.wait_for_selector("#conn-state[data-state=live]")
    mark = telegram.mark()
    await page.click("#reply-body")
    await page.keyboard.type("It left our warehouse today.")
    await telegram.wait_for_call("sendChatAction", lambda c: c.chat_id == customer.id, since=mark)
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("Tracking: AB123")
    await page.keyboard.press("Enter")
    sent = await telegram.wait_for_call("sendMessage", lambda c: "AB123" in c.text, since=mark)
    assert sent.chat_id == customer.id and "It left our warehouse today.\nTracking: AB123" in sent.text
    await page.wait_for_selector("li.msg.operator .delivery.sent")
    assert len(await texts(page, "li.msg.operator")) == 1
    await page.screenshot(path=str(artifacts_dir / "ticket.png"), full_page=True)

    # the server drops the socket; two messages arrive while the browser cannot reconnect
    await page.context.set_offline(True)
    for connection in list(panel.app[HUB].connections.values()):
        await connection.ws.close()
    await page.wait_for_selector("#conn-state[data-state=reconnecting]")
    await telegram.send(customer, "Hello? (1)")
    await telegram.send(customer, "Anyone there? (2)")
    await wait_for_bodies(sessions, ticket_id, {"Hello? (1)", "Anyone there? (2)"})
    connects = await page.evaluate("window.deskLive.connects")
    await page.context.set_offline(False)
    await until(page, f"window.deskLive.connects > {connects}", timeout=30.0)
    await page.wait_for_selector("li.msg.customer >> text=Anyone there? (2)")
    await asyncio.sleep(0.5)
    bodies = await texts(page, "li.msg.customer .body")
    assert bodies.count("Hello? (1)") == 1 and bodies.count("Anyone there? (2)") == 1
    assert bodies == ["Where is my parcel?", "Hello? (1)", "Anyone there? (2)"]


async def wait_for_bodies(sessions: Any, ticket_id: int, wanted: set[str]) -> None:
    from core.models import Message

    for _ in range(200):
        async with sessions() as session:
            bodies = set(await session.scalars(select(Message.body).where(Message.ticket_id == ticket_id)))
        if wanted <= bodies:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"messages {wanted} not stored")


async def test_customer_html_stays_text_and_the_dashboard_draws_charts(
    browser: Any, panel: Panel, telegram: TelegramServer, desk_bot: Any, sessions: Any, artifacts_dir: Path
) -> None:
    await desk_bot()
    page = await operator_page(browser, panel, sessions, "xss@example.com")
    customer = telegram.user("<b>Mallory</b>")
    payload = "<img src=x onerror=alert(1)>"
    await customer_opens_ticket(telegram, customer, payload)
    ticket_id = await ticket_id_of(sessions)
    await page.locator(f"tr[data-ticket-id='{ticket_id}']").wait_for()
    await page.goto(panel.url(f"/tickets/{ticket_id}"))
    body = page.locator("li.msg.customer .body", has_text="onerror")
    await body.wait_for()
    assert await body.text_content() == payload
    assert await page.locator("img[src='x']").count() == 0
    assert "<b>Mallory</b>" in (await page.locator("#customer-card").text_content() or "")
    await page.goto(panel.url("/dashboard"))
    assert await page.locator("svg.chart").count() >= 2
    await page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
    await page.goto(panel.url("/kb"))
    await page.fill("#kb-form input[name=slug]", "returns")
    await page.fill("#kb-form input[name=title]", "How to return an item")
    await page.fill("#kb-form textarea[name=body]", "Send it back within **30 days**. <img src=x onerror=alert(2)>")
    await page.locator("#kb-preview strong", has_text="30 days").wait_for()
    assert await page.locator("#kb-preview img").count() == 0
    await page.click("#kb-form button[type=submit]")
    await page.locator("#kb-articles li", has_text="How to return an item").wait_for()
    await page.fill("#kb-ask input[name=q]", "return an item")
    await page.click("#kb-ask button[type=submit]")
    await page.locator("#kb-answer h3", has_text="How to return an item").wait_for()
    await page.screenshot(path=str(artifacts_dir / "kb.png"), full_page=True)


async def test_an_admin_teaches_the_kb_an_example_question_and_a_synonym(browser: Any, panel: Panel, sessions: Any,
                                                                         artifacts_dir: Path) -> None:
    await make_operator(sessions, "boss@example.com", role="admin")
    page = await signed_in_page(browser, panel, "boss@example.com", "/inbox")
    await page.goto(panel.url("/kb"))
    await page.locator("#kb-synonyms li.muted").first.wait_for()  # the built-in dictionary is listed
    await page.fill("#kb-form input[name=slug]", "payment")
    await page.fill("#kb-form input[name=title]", "Payment methods")
    await page.fill("#kb-form textarea[name=body]", "Visa and Mastercard.")
    await page.fill("#kb-form textarea[name=examples]", "do you take <b>plastic</b>")
    await page.click("#kb-form button[type=submit]")
    await page.locator("#kb-articles li", has_text="Payment methods").wait_for()
    await page.fill("#kb-ask input[name=q]", "do you take plastic")
    await page.click("#kb-ask button[type=submit]")
    await page.locator("#kb-answer h3", has_text="Payment methods").wait_for()
    await page.fill("#kb-synonym-form input[name=terms]", "visa, <i>plastic</i> card")
    await page.click("#kb-synonym-form button[type=submit]")
    added = page.locator("#kb-synonyms li[data-synonym-id]", has_text="visa, <i>plastic</i> card (en)")
    await added.wait_for()
    assert await page.locator("#kb-synonyms i").count() == 0  # shown as text
    await page.screenshot(path=str(artifacts_dir / "kb-admin.png"), full_page=True)
    await added.locator("button").click()
    await added.wait_for(state="detached")


async def test_an_operator_does_not_see_the_example_and_synonym_editors(browser: Any, panel: Panel,
                                                                        sessions: Any) -> None:
    page = await operator_page(browser, panel, sessions, "op-kb@example.com")
    await page.goto(panel.url("/kb"))
    await page.locator("#kb-synonyms li.muted").first.wait_for()
    assert not await page.locator("#kb-form textarea[name=examples]").is_visible()
    assert not await page.locator("#kb-synonym-form").is_visible()
    assert await page.locator("#kb-synonyms button").count() == 0
