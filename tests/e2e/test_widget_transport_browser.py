"""The widget's transport in Chromium, on a shop page of another loopback origin: a socket dropped
mid-dialogue, a page hidden and shown again, two tabs, a foreign origin, markup in both directions, a
conversation closed while the widget was offline, and the open widget on a phone.

The network is taken away from the widget deterministically: a script the page runs first wraps
`WebSocket`, records each connection attempt and, while `__deskOffline` is set, points new sockets at
a closed port (so they fail as on a dead network); the desk's end of the live socket is closed through
its `VisitorHub`."""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from core.models import Ticket
from tests.e2e import test_widget_browser
from tests.e2e.test_panel_browser import signed_in_page
from tests.e2e.test_widget_browser import deliver_all, in_widget, reach_a_human, until, visit
from tests.shop import origin_of, show, store_site, widget_tag
from tests.web.harness import Panel
from tests.web.test_ticket_api import signed_in
from web.widget import tokens
from web.widget.endpoint import WIDGET

pytestmark = pytest.mark.browser

desk_panel = test_widget_browser.desk_panel  # the fixtures: a panel with the widget on, a shop's page
shop_site = test_widget_browser.shop_site

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NETWORK = """
(() => {
  const Real = window.WebSocket;
  window.__deskAttempts = [];
  window.__deskOffline = false;
  function Wrapped(url, protocols) {
    window.__deskAttempts.push(Date.now());
    return new Real(window.__deskOffline ? "ws://127.0.0.1:9/offline" : url, protocols);
  }
  Wrapped.prototype = Real.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(k => { Wrapped[k] = Real[k]; });
  window.WebSocket = Wrapped;
})();
"""
SHADOW = "document.querySelector('[data-desk-widget]').shadowRoot"


def count(selector: str) -> str:
    return f"{SHADOW}.querySelectorAll({selector!r}).length"


async def shop_page(desk: Panel, sessions: Any, site: tuple[TestServer, dict[str, str]],
                    origins: list[str] | None = None, title: str = "Corner shop", user: str = "",
                    **look: str) -> str:
    """The shop's page with the widget tag; the shop's origin."""
    widget = await store_site(sessions, origins or [origin_of(site)], **look)
    signed = f' data-user-id="{user}" data-user-hash="{tokens.user_hash(widget.secret, user)}"' if user else ""
    return show(site, widget_tag(desk, widget.key, attributes=signed),
                head=f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}'
                     "</title>")


async def visitor_page(context: Any, shop_origin: str) -> Any:
    return await visit(context, shop_origin, NETWORK)


async def hand_off(page: Any, sessions: Any, question: str = "how do I reset my password?") -> int:
    await reach_a_human(page, question)
    async with sessions() as session:
        ticket_id = await session.scalar(select(Ticket.id).where(Ticket.channel == "web").order_by(Ticket.id.desc()))
    assert ticket_id is not None
    return int(ticket_id)


class VisitorWithTicket(NamedTuple):
    context: Any
    page: Any
    ticket_id: int
    operator: Any  # Olga's signed-in HTTP client
    csrf: dict[str, str]


async def visitor_with_a_ticket(browser: Any, desk: Panel, sessions: Any,
                                site: tuple[TestServer, dict[str, str]]) -> VisitorWithTicket:
    """The common start: a visitor on the shop's page reached a human, and Olga is signed in to answer."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await visitor_page(context, await shop_page(desk, sessions, site))
    ticket_id = await hand_off(page, sessions)
    operator, csrf = await signed_in(desk, sessions, "olga@example.com")
    return VisitorWithTicket(context, page, ticket_id, operator, csrf)


async def go_offline(page: Any, desk: Panel) -> None:
    """The network goes: new sockets fail, and the desk's end of the open one is closed."""
    await page.evaluate("window.__deskOffline = true")
    for sockets in list(desk.app[WIDGET].hub.sockets.values()):
        for socket in list(sockets):
            await socket.ws.close()
    attempts = await page.evaluate("window.__deskAttempts.length")
    await until(page, f"window.__deskAttempts.length > {attempts}")  # it tried again, and failed


async def reply(desk: Panel, operator: Any, csrf: dict[str, str], ticket_id: int, body: str) -> None:
    async with operator.post(desk.url(f"/api/tickets/{ticket_id}/messages"), json={"body": body}, headers=csrf) as r:
        assert r.status == 201
    await deliver_all(desk)


async def test_a_reply_sent_while_the_socket_was_down_shows_once_after_the_reconnect(
        browser: Any, desk_panel: Panel, sessions: Any, shop_site: Any) -> None:
    context, page, ticket_id, operator, csrf = await visitor_with_a_ticket(browser, desk_panel, sessions,
                                                                        shop_site)

    await go_offline(page, desk_panel)
    await context.set_offline(True)
    await reply(desk_panel, operator, csrf, ticket_id, "Sent while you were away")
    await asyncio.sleep(0.5)
    assert await page.evaluate(count(".item.op")) == 0  # not there yet: the widget is offline
    await page.evaluate("window.__deskOffline = false")
    await context.set_offline(False)  # the browser's `online`: the widget reconnects at once
    await until(page, in_widget(".item.op", "Sent while you were away"))
    await reply(desk_panel, operator, csrf, ticket_id, "And live again")
    await until(page, in_widget(".item.op", "And live again"))
    await asyncio.sleep(0.5)
    assert await page.evaluate(count(".item.op")) == 2  # each exactly once
    assert await page.evaluate(count(".item.me")) == 1
    await context.close()


async def test_a_page_shown_again_reconnects_at_once_and_shows_what_came_meanwhile(
        browser: Any, desk_panel: Panel, sessions: Any, shop_site: Any) -> None:
    context, page, ticket_id, operator, csrf = await visitor_with_a_ticket(browser, desk_panel, sessions,
                                                                        shop_site)
    await page.click("[data-desk-widget] .bubble")  # the panel closed: replies count on the bubble

    await go_offline(page, desk_panel)
    await asyncio.sleep(3.5)  # a few failed attempts: the next one waits several seconds
    await page.evaluate("Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
                        "document.dispatchEvent(new Event('visibilitychange'))")
    await reply(desk_panel, operator, csrf, ticket_id, "Sent while the page was hidden")
    await page.evaluate("window.__deskOffline = false")
    shown_at = await page.evaluate("Object.defineProperty(document, 'visibilityState', {value: 'visible', "
                                   "configurable: true}); document.dispatchEvent(new Event('visibilitychange'));"
                                   "Date.now()")
    await until(page, in_widget(".item.op", "Sent while the page was hidden"), timeout=5)
    attempt = await page.evaluate("window.__deskAttempts[window.__deskAttempts.length - 1]")
    assert attempt - shown_at < 300  # at once, not when the backoff ran out
    assert await page.evaluate(f"{SHADOW}.querySelector('.badge').textContent") == "1"
    assert "1 unread" in (await page.locator("[data-desk-widget] .bubble").get_attribute("aria-label") or "")

    await page.click("[data-desk-widget] .bubble")  # opening reads them, and the focus moves inside
    assert await page.evaluate(f"{SHADOW}.querySelector('.badge').hidden")
    assert await page.evaluate(f"{SHADOW}.activeElement && {SHADOW}.activeElement.tagName") == "TEXTAREA"
    assert await page.evaluate(f"{SHADOW}.querySelector('.log').getAttribute('aria-live')") == "polite"
    await page.keyboard.press("Escape")
    assert await page.evaluate(f"{SHADOW}.activeElement && {SHADOW}.activeElement.className") == "bubble"
    await context.close()


async def test_two_tabs_show_the_same_conversation(browser: Any, desk_panel: Panel, sessions: Any,
                                                   shop_site: Any) -> None:
    shop_origin = await shop_page(desk_panel, sessions, shop_site)
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    first = await visitor_page(context, shop_origin)
    ticket_id = await hand_off(first, sessions)
    second = await context.new_page()
    await second.add_init_script(NETWORK)
    await second.goto(shop_origin + "/")
    await second.click("[data-desk-widget] .bubble")
    await until(second, in_widget(".item.me", "how do I reset my password?"))  # the same visitor, from storage
    operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
    await reply(desk_panel, operator, csrf, ticket_id, "Hello to both tabs")
    for tab in (first, second):
        await until(tab, in_widget(".item.op", "Hello to both tabs"))
    await first.fill("[data-desk-widget] textarea", "typed in the first tab")
    await first.press("[data-desk-widget] textarea", "Enter")
    await until(first, f"{SHADOW}.querySelectorAll('.item.me.pending').length === 0")
    await reply(desk_panel, operator, csrf, ticket_id, "Got it")
    await until(second, in_widget(".item.me", "typed in the first tab"))
    for tab in (first, second):
        await until(tab, in_widget(".item.op", "Got it"))
        assert await tab.evaluate(count(".item.op")) == 2
    await context.close()


async def test_a_foreign_origin_gets_no_chat(browser: Any, desk_panel: Panel, sessions: Any,
                                             shop_site: Any) -> None:
    shop_origin = await shop_page(desk_panel, sessions, shop_site, origins=["https://the-real-shop.example"])
    context = await browser.new_context()
    page = await context.new_page()
    await page.add_init_script(NETWORK)
    await page.goto(shop_origin + "/")
    await page.click("[data-desk-widget] .bubble")
    await until(page, "window.__deskAttempts.length >= 2")  # refused, and tried again later
    assert await page.evaluate(count(".item")) == 0
    assert await page.evaluate(f"{SHADOW}.querySelector('.status').textContent") == "Connecting…"
    assert await page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':token'))"
                               ".map(k => JSON.parse(localStorage[k])).filter(Boolean).length") == 0
    await context.close()


async def test_markup_is_text_in_the_widget_and_in_the_panel(browser: Any, desk_panel: Panel, sessions: Any,
                                                             shop_site: Any) -> None:
    shop_origin = await shop_page(desk_panel, sessions, shop_site, title="Sale <img src=x onerror=alert(1)>")
    context = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="de-DE",
                                        timezone_id="Europe/Berlin")
    page = await visitor_page(context, shop_origin)
    payload = "<img src=x onerror=\"document.title='pwned'\"> how do I reset my password?"
    ticket_id = await hand_off(page, sessions, payload)
    assert await page.evaluate(in_widget(".item.me", "<img src=x")) and await page.title() != "pwned"
    operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
    await reply(desk_panel, operator, csrf, ticket_id, "<script>document.title='pwned'</script><b>bold?</b>")
    await until(page, in_widget(".item.op", "<b>bold?</b>"))
    assert await page.evaluate(f"{SHADOW}.querySelectorAll('img, b, script').length") == 0
    assert await page.title() != "pwned"

    panel_page = await signed_in_page(browser, desk_panel, "olga@example.com", "/inbox")
    await panel_page.goto(desk_panel.url(f"/tickets/{ticket_id}"))
    body = panel_page.locator("li.msg.customer .body", has_text="onerror")
    await body.wait_for()
    assert await body.text_content() == payload
    assert await panel_page.locator("img[src='x']").count() == 0
    assert await panel_page.title() != "pwned"
    # the customer card: where the visitor is, from the widget's hello, as text
    card = panel_page.locator("#customer-card")
    assert await card.locator("dd.visit_page").text_content() == f"Sale <img src=x onerror=alert(1)> — {shop_origin}/"
    assert await card.locator("dd.visit_language").text_content() == "de-DE"
    assert "(Europe/Berlin)" in (await card.locator("dd.visit_local_time").text_content() or "")
    assert "Chrome" in (await card.locator("dd.visit_browser").text_content() or "")
    await panel_page.context.close()
    await context.close()


async def test_a_conversation_closed_while_offline_hides_the_reply_box_after_the_reconnect(
        browser: Any, desk_panel: Panel, sessions: Any, shop_site: Any) -> None:
    context, page, ticket_id, operator, csrf = await visitor_with_a_ticket(browser, desk_panel, sessions,
                                                                        shop_site)
    await go_offline(page, desk_panel)
    async with operator.patch(desk_panel.url(f"/api/tickets/{ticket_id}"), json={"status": "closed"},
                              headers=csrf) as r:
        assert r.status == 200
    await deliver_all(desk_panel)
    assert await page.evaluate(f"!{SHADOW}.querySelector('form').hidden")  # offline: it cannot know yet
    await page.evaluate("window.__deskOffline = false; window.dispatchEvent(new Event('online'))")
    await until(page, in_widget(".item.closed", "is closed"))
    await until(page, f"{SHADOW}.querySelector('form').hidden")
    assert not await page.evaluate(f"{SHADOW}.querySelector('.again').hidden")
    await page.locator("[data-desk-widget] .item.closed").get_by_role("button", name="5⭐").click()
    await until(page, in_widget(".item.bot", "5/5"))
    assert not await page.evaluate(f"{SHADOW}.querySelector('form').hidden")  # a comment may follow
    await page.reload()  # drawn again from storage: the notice once
    await until(page, f"{SHADOW}.querySelectorAll('.item.closed').length === 1")
    await context.close()


async def test_the_open_widget_fills_a_phone_screen(browser: Any, desk_panel: Panel, sessions: Any,
                                                    shop_site: Any) -> None:
    shop_origin = await shop_page(desk_panel, sessions, shop_site, greeting="Hi! Ask us anything <3",
                                  color="#0f766e", hours="Mon–Fri 9:00–18:00 (Moscow time)")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True)
    page = await visitor_page(context, shop_origin)
    await page.fill("[data-desk-widget] textarea", "Where is my order?")
    box = await page.locator("[data-desk-widget] .panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    assert await page.evaluate(f"{SHADOW}.querySelector('.count').textContent") == "18/4000"
    assert await page.evaluate(f"{SHADOW}.querySelector('.intro').textContent") == (
        "Hi! Ask us anything <3Mon–Fri 9:00–18:00 (Moscow time)")
    assert await page.evaluate(f"getComputedStyle({SHADOW}.querySelector('.head')).backgroundColor") == (
        "rgb(15, 118, 110)")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    await context.close()


async def test_a_forged_shop_user_gets_no_chat_and_a_signed_one_is_greeted_by_name(
        browser: Any, desk_panel: Panel, sessions: Any, shop_site: Any) -> None:
    shop_origin = await shop_page(desk_panel, sessions, shop_site, user="u-5")
    _, page_html = shop_site
    signed_html = page_html["html"]
    page_html["html"] = signed_html.replace('data-user-id="u-5"', 'data-user-id="u-6"')  # someone else's id
    context = await browser.new_context()
    page = await context.new_page()
    await page.add_init_script(NETWORK)
    await page.goto(shop_origin + "/")
    await page.click("[data-desk-widget] .bubble")
    await until(page, "window.__deskAttempts.length >= 2")  # refused (401), and tried again later
    assert await page.evaluate(count(".item")) == 0
    page_html["html"] = signed_html
    await page.reload()
    await page.click("[data-desk-widget] .bubble")
    await until(page, in_widget(".item.bot", "Hello, Shop user u-5"))
    await context.close()


async def test_the_widget_works_on_a_page_with_a_strict_content_security_policy(
        browser: Any, desk_panel: Panel, sessions: Any) -> None:
    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page["html"], content_type="text/html", headers={"Content-Security-Policy": (
            f"default-src 'none'; script-src {desk_panel.origin}; connect-src {desk_panel.origin} "
            f"{desk_panel.origin.replace('http', 'ws')}; style-src 'self'")})

    page: dict[str, str] = {}
    app = web.Application()
    app.router.add_get("/", index)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        shop_origin = await shop_page(desk_panel, sessions, (server, page))
        context = await browser.new_context(viewport={"width": 1200, "height": 900})
        tab = await context.new_page()
        violations: list[str] = []
        tab.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text
               else None)
        await tab.goto(shop_origin + "/")
        await tab.click("[data-desk-widget] .bubble")
        await until(tab, in_widget(".item.bot", "Hello,"))
        assert await tab.evaluate(f"getComputedStyle({SHADOW}.querySelector('.panel')).position") == "fixed"
        assert violations == []
        await context.close()
    finally:
        await server.close()
