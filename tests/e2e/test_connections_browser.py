"""The Connections page in Chromium, in Russian: the admin who opens it is online on it, and an operator
who signs in elsewhere appears (and leaves) without a reload, through the `presence.online` event."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_shift_browser import LAPTOP, signed_in
from tests.web.harness import Panel, make_operator

pytestmark = pytest.mark.browser


async def test_connections_page_shows_the_admin_and_an_operator_signing_in_live(browser: Any, panel: Panel,
                                                                                sessions: Any) -> None:
    await make_operator(sessions, "boss@example.com", role="admin", language="ru")
    operator_id = await make_operator(sessions, "olga@example.com", language="ru")
    page = await signed_in(browser, panel, "boss@example.com", LAPTOP)
    await page.goto(panel.url("/admin/ws"))
    me = page.locator("#online-list li", has_text="Boss (Администратор)")
    await me.wait_for()
    assert await page.locator("main h1").text_content() == "Подключения"
    assert "Открытых подключений к панели, Администратор" in await page.locator("#ws-stats").text_content()
    loads = int(await page.evaluate("document.body.dataset.wsLoads"))

    other = await signed_in(browser, panel, "olga@example.com", LAPTOP)
    olga = page.locator(f"#online-list li[data-operator-id='{operator_id}']")
    await olga.wait_for(timeout=8000)  # the page polls only every 15 s: this is the event
    assert (await olga.text_content()).startswith("Olga (Оператор)")
    assert int(await page.evaluate("document.body.dataset.wsLoads")) > loads
    await other.context.close()
    await olga.wait_for(state="detached", timeout=8000)
    assert await me.is_visible()
    await page.context.close()
