"""The inbox search in Chromium (issue 20): the matched line is marked as text, never as markup, and a
ticket number with Enter opens the ticket."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_shift_browser import LAPTOP, signed_in
from tests.web.harness import Panel, customer_ticket, customer_writes, make_operator

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
