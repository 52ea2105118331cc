"""The widget's HTTP fallback in Chromium, on a shop page of another loopback origin: a tag that asks for
it (`data-transport="sse"`) talks over POST + Server-Sent Events and shows the operator's reply live; a page
where WebSockets never open switches to it by itself; a message over the visitor's rate limit stays
"sending…" and goes out after the retry-after, stored once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from core.models import Message, Ticket, WidgetReceipt
from tests.e2e import test_widget_browser
from tests.e2e.test_widget_browser import deliver_all, in_widget, reach_a_human, until, visit
from tests.shop import origin_of, show, store_site, widget_tag
from tests.web.harness import Panel
from tests.web.test_ticket_api import signed_in
from web.widget import limits
from web.widget.endpoint import WIDGET

pytestmark = pytest.mark.browser

desk_panel = test_widget_browser.desk_panel  # the fixtures: a panel with the widget on, a shop's page
shop_site = test_widget_browser.shop_site

SHADOW = "document.querySelector('[data-desk-widget]').shadowRoot"
COUNTED = """
(() => {
  const Real = window.WebSocket;
  window.__deskAttempts = 0;
  function Counted(url, protocols) { window.__deskAttempts += 1; return new Real(url, protocols); }
  Counted.prototype = Real.prototype;
  window.WebSocket = Counted;
})();
"""
BROKEN = """
(() => {
  // a network (or a proxy) where no WebSocket ever opens: every one errors and closes
  window.__deskAttempts = 0;
  function Broken(url) {
    window.__deskAttempts += 1;
    this.readyState = 0;
    setTimeout(() => {
      this.readyState = 3;
      if (this.onerror) this.onerror(new Event("error"));
      if (this.onclose) this.onclose(new CloseEvent("close", { code: 1006 }));
    }, 20);
  }
  Broken.prototype.send = function () { throw new Error("not open"); };
  Broken.prototype.close = function () { this.readyState = 3; };
  window.WebSocket = Broken;
})();
"""


def count(selector: str) -> str:
    return f"{SHADOW}.querySelectorAll({selector!r}).length"


async def shop_page(desk: Panel, sessions: Any, site: Any, transport: str = "") -> str:
    key = (await store_site(sessions, [origin_of(site)])).key
    attribute = f' data-transport="{transport}"' if transport else ""
    return show(site, widget_tag(desk, key, attributes=attribute), head="<title>Corner shop</title>")


async def open_widget(browser: Any, shop_origin: str, init_script: str) -> tuple[Any, Any]:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    return context, await visit(context, shop_origin, init_script)


async def talk_and_hear_the_operator(page: Any, desk: Panel, sessions: Any) -> None:
    """Ask, hand off, and read the operator's reply as it arrives."""
    await reach_a_human(page)
    async with sessions() as session:
        ticket_id = await session.scalar(select(Ticket.id).where(Ticket.channel == "web"))
    assert ticket_id is not None
    operator, csrf = await signed_in(desk, sessions, "olga@example.com")
    async with operator.post(desk.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "Hi, <b>Olga</b> here"},
                             headers=csrf) as r:
        assert r.status == 201
    await deliver_all(desk)
    await until(page, in_widget(".item.op", "Hi, <b>Olga</b> here"))  # live, as text
    await asyncio.sleep(0.5)
    assert await page.evaluate(count(".item.op")) == 1
    assert await page.evaluate(count(".item.me")) == 1 and await page.evaluate(count(".item.pending")) == 0


async def test_a_widget_told_to_use_server_sent_events_talks_and_hears_the_operator_live(
        browser: Any, desk_panel: Panel, sessions: Any, shop_site: Any) -> None:
    shop_origin = await shop_page(desk_panel, sessions, shop_site, transport="sse")
    context, page = await open_widget(browser, shop_origin, COUNTED)
    await talk_and_hear_the_operator(page, desk_panel, sessions)
    assert await page.evaluate("window.__deskAttempts") == 0  # no socket was even tried
    await context.close()


async def test_a_page_where_websockets_never_open_falls_back_by_itself(
        browser: Any, desk_panel: Panel, sessions: Any, shop_site: Any) -> None:
    shop_origin = await shop_page(desk_panel, sessions, shop_site)
    context, page = await open_widget(browser, shop_origin, BROKEN)
    assert await page.evaluate("window.__deskAttempts") == 2  # two sockets failed, then the fallback
    await talk_and_hear_the_operator(page, desk_panel, sessions)
    assert await page.evaluate("window.__deskAttempts") == 2  # and it stays on it
    await context.close()


async def test_a_message_over_the_rate_limit_stays_sending_and_goes_out_after_the_wait(
        browser: Any, desk_panel: Panel, sessions: Any, shop_site: Any) -> None:
    widget = desk_panel.app[WIDGET]
    widget.rate_limits.visitor = limits.Limiter("visitor", 2, 0.4)  # the greeting and one message at once
    shop_origin = await shop_page(desk_panel, sessions, shop_site, transport="sse")
    context, page = await open_widget(browser, shop_origin, COUNTED)
    await page.fill("[data-desk-widget] textarea", "hello there")
    await page.press("[data-desk-widget] textarea", "Enter")
    await page.fill("[data-desk-widget] textarea", "my parcel is late")
    await page.press("[data-desk-widget] textarea", "Enter")
    await until(page, in_widget(".item.error", "sent in a few seconds"))
    assert await page.evaluate(count(".item.me.pending")) >= 1  # kept as "sending…", not dropped
    await until(page, count(".item.me.pending") + " === 0", timeout=20)  # sent again after the retry-after
    assert await page.evaluate(count(".item.me")) == 2
    async with sessions() as session:  # the dialogue read each once (no ticket yet: its receipts)
        receipts = await session.scalar(select(func.count()).select_from(WidgetReceipt))
        messages = await session.scalar(select(func.count()).select_from(Message))
    assert receipts == 3 and messages == 0
    await context.close()
