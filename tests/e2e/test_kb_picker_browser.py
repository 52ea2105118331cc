"""An operator inserts a knowledge-base article into a reply in Chromium: `i` opens the picker, the search
finds the published article, its text and then its link go into the reply box at the cursor, nothing is
sent until the operator sends, and the customer receives it through the Bot API test server."""

from __future__ import annotations

from typing import Any

import pytest

from core.kb.articles import ArticleData, upsert_article
from tests.botapi.server import TelegramServer
from tests.e2e.test_panel_browser import customer_opens_ticket, operator_page, ticket_id_of
from tests.web.harness import Panel

pytestmark = pytest.mark.browser

BODY = "Send the parcel back within 30 days."
LINK = "https://shop.example/returns"


async def test_operator_inserts_an_article_and_the_customer_receives_it(
    browser: Any, panel: Panel, telegram: TelegramServer, desk_bot: Any, sessions: Any
) -> None:
    async with sessions() as session, session.begin():
        await upsert_article(session, ArticleData("returns", "Returning an item", BODY, "en",
                                                  links=({"title": "Returns", "url": LINK},)))
        await upsert_article(session, ArticleData("returns-draft", "Returning an item (draft)", "Not ready.", "en",
                                                  published=False))
    await desk_bot()
    page = await operator_page(browser, panel, sessions)
    customer = telegram.user("Ann", username="ann_k")
    await customer_opens_ticket(telegram, customer, "How do I send it back?")
    ticket_id = await ticket_id_of(sessions)
    await page.goto(panel.url(f"/tickets/{ticket_id}"))
    await page.wait_for_selector("li.msg.customer >> text=How do I send it back?")
    await page.wait_for_selector("#conn-state[data-state=live]")

    await page.click("#reply-body")
    await page.keyboard.type("Hello! Here is how:")
    await page.keyboard.press("Escape")  # leave the box: single keys are shortcuts again
    mark = telegram.mark()
    await page.keyboard.press("i")
    picker = page.locator("#kb-picker")
    await picker.wait_for()
    await page.keyboard.type("return")
    row = picker.locator("li", has_text="Returning an item")
    await row.first.wait_for()
    assert await picker.locator("li .title").all_text_contents() == ["Returning an item"]  # not the draft
    await page.keyboard.press("Enter")  # the first article's text
    await picker.wait_for(state="hidden")
    assert await page.input_value("#reply-body") == f"Hello! Here is how: {BODY}"

    await page.click("#kb-insert")  # the link this time, where the cursor is (the end)
    await row.first.wait_for()
    await row.first.locator(".insert-link").click()
    assert await page.input_value("#reply-body") == f"Hello! Here is how: {BODY} {LINK}"
    assert [c for c in telegram.calls[mark:] if c.method == "sendMessage"] == []  # nothing sent yet

    await page.keyboard.press("Enter")  # the box has the focus back: Enter sends
    sent = await telegram.wait_for_call("sendMessage", lambda c: LINK in c.text, since=mark)
    assert sent.chat_id == customer.id and sent.text.startswith(f"Hello! Here is how: {BODY} {LINK}\n")
    await page.wait_for_selector("li.msg.operator .delivery.sent")
    await page.context.close()
