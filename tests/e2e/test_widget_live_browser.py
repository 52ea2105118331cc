"""The widget's live details in Chromium, with a shop page on another origin and an operator's panel
tab: the visitor types and the ticket view says so, the operator opens the ticket and the widget says
"Seen", and the operator's picture shows inline in the widget."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from core.models import Ticket
from tests.e2e import test_widget_browser
from tests.e2e.test_panel_browser import signed_in_page
from tests.e2e.test_widget_browser import deliver_all, in_widget, reach_a_human, until, visit
from tests.images import png
from tests.shop import origin_of, show, store_site, widget_tag
from tests.web.harness import Panel, login, make_operator

pytestmark = pytest.mark.browser

desk_panel = test_widget_browser.desk_panel  # the fixtures: a panel with the widget on, a shop's page
shop_site = test_widget_browser.shop_site

TYPING = "document.querySelector('#visitor-typing').textContent.includes('Visitor is typing')"


async def test_typing_seen_and_an_inline_image(browser: Any, desk_panel: Panel, sessions: Any,
                                               shop_site: tuple[TestServer, dict[str, str]]) -> None:
    key = (await store_site(sessions, [origin_of(shop_site)])).key
    shop_origin = show(shop_site, widget_tag(desk_panel, key))
    context = await browser.new_context(viewport={"width": 390, "height": 800})  # the phone view
    shop = await visit(context, shop_origin)
    await reach_a_human(shop)
    await shop.fill("[data-desk-widget] textarea", "my order is late")
    await shop.press("[data-desk-widget] textarea", "Enter")
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.channel == "web"))
    assert ticket is not None
    assert not await shop.evaluate(in_widget(".seen", "Seen"))

    # the operator opens the ticket: the visitor's messages count as read, the widget says so
    await make_operator(sessions, "olga@example.com")
    panel = await signed_in_page(browser, desk_panel, "olga@example.com", "/inbox")
    await panel.goto(desk_panel.url(f"/tickets/{ticket.id}"))
    await panel.wait_for_selector("#conn-state[data-state=live]")
    await until(shop, in_widget(".item.me .seen", "Seen"))
    assert await shop.evaluate(
        "(() => { const seen = document.querySelector('[data-desk-widget]').shadowRoot.querySelectorAll('.seen');"
        " return seen.length === 1 && seen[0].parentNode.textContent.includes('my order is late'); })()")

    # the visitor types (the widget tells the desk at most every 3 s): the ticket view says so
    async with asyncio.timeout(20):
        while not await panel.evaluate(TYPING):
            await shop.type("[data-desk-widget] textarea", "a")
            await asyncio.sleep(0.4)
    await until(panel, f"!({TYPING})", timeout=10)  # gone again after a few seconds without typing

    # the operator's picture: inline in the widget, a thumbnail that opens full size in a new tab
    async with desk_panel.client() as operator:
        csrf = await login(desk_panel, operator, "olga@example.com")
        form = aiohttp.FormData()
        form.add_field("body", "here is the label")
        form.add_field("files", png(60, 40), filename="label.png", content_type="image/png")
        async with operator.post(desk_panel.url(f"/api/tickets/{ticket.id}/messages"), data=form,
                                 headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 201, await r.text()
    await deliver_all(desk_panel)
    await until(shop, in_widget(".item.op", "here is the label"))
    image = "document.querySelector('[data-desk-widget]').shadowRoot.querySelector('.item.op .files img')"
    await until(shop, f"{image}?.complete && {image}.naturalWidth > 0")
    assert await shop.evaluate(f"{image}.naturalWidth") == 60
    link = await shop.evaluate(f"(() => {{ const a = {image}.parentNode; return [a.target, a.href]; }})()")
    assert link[0] == "_blank" and "/widget/files/" in link[1]
    box = await shop.evaluate(f"(() => {{ const r = {image}.getBoundingClientRect(); return [r.width, r.height]; }})()")
    assert box == [200, 150]  # the fixed thumbnail box: nothing moves when it loads
    await context.close()
    await panel.context.close()
