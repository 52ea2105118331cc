"""A shop's page on another origin embeds the widget with one script tag; a visitor in Chromium asks,
is handed off, reads the operator's live reply (as text, never markup) and rates the closed ticket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.kb.transfer import import_articles, read_articles
from core.models import Site, Ticket, TicketRating
from core.orders import stores
from core.outbox import OutboxWorker
from core.services.conversations import record_delivery
from tests.e2e.test_panel_browser import signed_in_page
from tests.shop import origin_of, show, store_site, widget_tag
from tests.web.harness import Panel, make_operator, start_panel
from tests.web.test_ticket_api import signed_in

pytestmark = pytest.mark.browser

KB_SEED = Path(__file__).resolve().parents[1] / "bot" / "kb_seed.json"
SHOP_CSS = "* { display: inline !important; color: red !important; font-size: 3px !important }"


@pytest.fixture
async def desk_panel(database_url: str, sessions: async_sessionmaker[AsyncSession],
                     tmp_path: Path) -> AsyncIterator[Panel]:
    running = await start_panel(database_url, tmp_path / "panel", settings_overrides={"widget_enabled": True},
                                ws_heartbeat=5.0)
    async with running.desk.sessions() as session, session.begin():
        await import_articles(session, read_articles(KB_SEED))
    yield running
    await running.close()


@pytest.fixture
async def shop_site() -> AsyncIterator[tuple[TestServer, dict[str, str]]]:
    """The shop's own site, on another loopback origin: one page with the desk's script tag."""
    page: dict[str, str] = {}

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page["html"], content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield server, page
    await server.close()


async def until(page: Any, expression: str, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await page.evaluate(expression):
            await asyncio.sleep(0.05)


def in_widget(selector: str, text: str) -> str:
    """A check inside the widget's shadow root: some `selector` contains `text`."""
    return ("(() => { const host = document.querySelector('[data-desk-widget]'); if (!host) return false;"
            f" return [...host.shadowRoot.querySelectorAll({selector!r})]"
            f".some(n => n.textContent.includes({text!r})); }})()")


async def visit(context: Any, shop_origin: str, init_script: str | None = None) -> Any:
    """A visitor opens the shop's page (with `init_script` run before its own) and the chat: the greeting."""
    page = await context.new_page()
    if init_script is not None:
        await page.add_init_script(init_script)
    await page.goto(shop_origin + "/")
    await page.click("[data-desk-widget] .bubble")
    await until(page, in_widget(".item.bot", "Hello,"))
    return page


async def reach_a_human(page: Any, question: str = "how do I reset my password?") -> None:
    """Ask, get the password article, "Talk to a human", the first topic: the ticket is open."""
    await page.fill("[data-desk-widget] textarea", question)
    await page.press("[data-desk-widget] textarea", "Enter")
    await until(page, in_widget(".article h4", "How to reset your password"))
    await page.locator("[data-desk-widget] .item.bot").last.get_by_role("button", name="Talk to a human").click()
    await page.get_by_role("button", name="Technical support").click()
    await until(page, in_widget(".item.bot", "is open"))


async def deliver_all(panel: Panel) -> None:
    worker = OutboxWorker(panel.desk.sessions, panel.desk.channels.deliverers(), on_outcome=[record_delivery])
    while await worker.run_once():
        pass


async def test_a_visitor_on_a_shop_page_talks_to_the_desk(browser: Any, desk_panel: Panel, sessions: Any,
                                                          shop_site: tuple[TestServer, dict[str, str]]) -> None:
    key = (await store_site(sessions, [origin_of(shop_site)])).key
    shop_origin = show(shop_site, widget_tag(desk_panel, key), head=f"<style>{SHOP_CSS}</style>")

    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await visit(context, shop_origin)
    # the shop's CSS does not reach inside: the panel keeps its own layout
    assert await page.evaluate("getComputedStyle(document.querySelector('[data-desk-widget]').shadowRoot"
                               ".querySelector('.panel')).display") == "flex"

    await reach_a_human(page)
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.channel == "web"))
    assert ticket is not None

    operator, csrf = await signed_in(desk_panel, sessions, "olga@example.com")
    markup = "<img src=x onerror=\"document.title='pwned'\"> check your spam folder"
    async with operator.post(desk_panel.url(f"/api/tickets/{ticket.id}/messages"), json={"body": markup},
                             headers=csrf) as r:
        assert r.status == 201
    await deliver_all(desk_panel)
    await until(page, in_widget(".item.op", "check your spam folder"))
    assert await page.evaluate(in_widget(".item.op", "<img src=x")) and await page.title() != "pwned"

    async with operator.patch(desk_panel.url(f"/api/tickets/{ticket.id}"), json={"status": "closed"},
                              headers=csrf) as r:
        assert r.status == 200
    await deliver_all(desk_panel)
    await until(page, in_widget(".item.closed", "is closed"))
    await page.locator("[data-desk-widget] .item.closed").get_by_role("button", name="4⭐").click()
    await until(page, in_widget(".item.bot", "4/5"))

    await page.reload()  # the conversation is drawn again from localStorage, nothing shown twice
    await page.click("[data-desk-widget] .bubble")
    await until(page, in_widget(".item.op", "check your spam folder"))
    assert await page.evaluate("document.querySelector('[data-desk-widget]').shadowRoot"
                               ".querySelectorAll('.item.op').length") == 1
    async with sessions() as session:
        rating = await session.get(TicketRating, ticket.id)
        assert rating is not None and rating.score == 4
    await context.close()


async def test_an_admin_lists_the_shop_site_and_copies_the_tag_in_russian(browser: Any, desk_panel: Panel,
                                                                         sessions: Any) -> None:
    await make_operator(sessions, "root@example.com", role="admin", language="ru")
    async with sessions() as session, session.begin():
        store = await stores.create_store(session, name="Пекарня")
    page = await signed_in_page(browser, desk_panel, "root@example.com", "/inbox")
    await page.goto(desk_panel.url("/admin/stores"))
    card = page.locator(".store", has_text="Пекарня")
    assert "Чат на сайте" in await card.inner_text()
    await until(page, "document.querySelector('.widget-snippet')?.value.includes('data-key=')")
    await card.locator(".widget-form textarea").fill("https://Bakery.example/\nhttp://127.0.0.1:8001")
    await card.locator(".widget-form button[type=submit]").click()
    await until(page, "document.querySelector('.widget-form textarea').value === "
                      "'http://127.0.0.1:8001\\nhttps://bakery.example'")
    async with sessions() as session:
        widget = await session.scalar(select(Site).where(Site.store_id == store.id))
        assert widget is not None and widget.origins == ["http://127.0.0.1:8001", "https://bakery.example"]
    snippet = await page.locator(".widget-snippet").input_value()
    assert snippet == f'<script src="{desk_panel.origin}/widget.js" data-key="{widget.key}" async></script>'
    await card.locator("button", has_text="Новый ключ виджета").click()
    await until(page, f"!document.querySelector('.widget-snippet').value.includes({widget.key!r})")
    await page.context.close()
