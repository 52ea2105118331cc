"""The inbox search in Chromium (issue 20): the matched line is marked as text, never as markup, and a
ticket number with Enter opens the ticket."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_shift_browser import LAPTOP, signed_in
from tests.web.harness import Panel, customer_ticket, customer_writes, make_operator
from tests.web.test_ticket_search import many_zeppelins

pytestmark = pytest.mark.browser


async def test_search_marks_the_line_and_a_number_opens_the_ticket(browser: Any, panel: Panel, sessions: Any) -> None:
    await make_operator(sessions, "find@example.com")
    courier, _ = await customer_ticket(sessions, user_id=1701, name="Olga", body="Здравствуйте")
    await customer_writes(sessions, courier, 'Курьер <img src=x onerror="document.title=1"> не приехал')
    other, _ = await customer_ticket(sessions, user_id=1702, name="Bob", body="Hello there")
    page = await signed_in(browser, panel, "find@example.com", LAPTOP)
    await page.locator(f"tr[data-ticket-id='{other}']").wait_for()
    await page.fill("input[name=q]", "курьера")
    row = page.locator(f"tr[data-ticket-id='{courier}']")
    await row.locator(".match mark").wait_for()
    assert await row.locator(".match mark").all_text_contents() == ["Курьер"]
    assert await row.locator(".match img").count() == 0  # the customer's markup stays text
    assert await page.locator(f"tr[data-ticket-id='{other}']").count() == 0
    assert await page.locator("#search-matches").text_content() == "Found: 1"
    await page.fill("input[name=q]", f"#{other}")
    await page.press("input[name=q]", "Enter")
    await page.wait_for_url(panel.url(f"/tickets/{other}"))


@pytest.mark.parametrize(("language", "shown"), [("en", "Found: 1,000+"), ("ru", "Найдено: 1\u00a0000+")])
async def test_a_count_past_a_thousand_reads_1000_plus(browser: Any, panel: Panel, sessions: Any, language: str,
                                                       shown: str) -> None:
    await make_operator(sessions, f"many-{language}@example.com", language=language)
    await many_zeppelins(sessions)
    page = await signed_in(browser, panel, f"many-{language}@example.com", LAPTOP)
    await page.fill("input[name=q]", "zeppelin")
    found = page.locator("#search-matches")
    await found.filter(has_text="12").wait_for()  # the inbox's default view: not closed
    await page.select_option("select[name=status]", "*")
    await found.filter(has_text="+").wait_for()
    assert await found.text_content() == shown
