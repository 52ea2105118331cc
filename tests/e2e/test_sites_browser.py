"""Sites in Chromium: a site's required pre-chat form keeps the visitor from writing until it is
filled (name and a valid e-mail), the ticket goes to the site's queue and the operator's panel shows
the visitor's name, e-mail and site; an admin makes a site on the Sites page."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import Text, func, select

from core.models import ContactIdentity, FsmState, Queue, Site, Ticket
from core.services import sites as site_service
from tests.e2e.test_panel_browser import signed_in_page
from tests.e2e.test_widget_browser import desk_panel, in_widget, reach_a_human, shop_site, until  # noqa: F401
from tests.shop import origin_of, show, widget_tag
from tests.web.harness import Panel, make_operator

pytestmark = pytest.mark.browser


def shown(selector: str) -> str:
    return ("(() => { const n = document.querySelector('[data-desk-widget]')?.shadowRoot"
            f".querySelector({selector!r}); return !!n && !n.hidden && n.offsetParent !== null; }})()")


async def in_dialogue(sessions: Any, text: str) -> bool:
    """Whether a web visitor's dialogue (the turns kept before a handoff) holds the text."""
    async with sessions() as session:
        return bool(await session.scalar(select(func.count()).select_from(FsmState).where(
            FsmState.key.startswith("dialogue:web:"), FsmState.data.cast(Text).contains(text))))


async def test_a_required_prechat_form_comes_first_and_names_the_visitor(
        browser: Any, desk_panel: Panel, sessions: Any,  # noqa: F811
        shop_site: tuple[TestServer, dict[str, str]]) -> None:  # noqa: F811
    async with sessions() as session, session.begin():
        billing = await session.scalar(select(Queue.id).where(Queue.slug == "billing"))
        site = await site_service.create_site(session, site_service.SiteSettings(
            name="Corner shop", origins=[origin_of(shop_site)], queue_id=billing, prechat="required"))
    shop_origin = show(shop_site, widget_tag(desk_panel, site.key))
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await page.goto(shop_origin + "/")
    await page.click("[data-desk-widget] .bubble")
    await until(page, shown("form.prechat"))
    assert not await page.evaluate(shown("textarea"))  # no message box before the form
    assert not await page.evaluate(shown("button.skip"))  # required: no skipping
    name = page.get_by_label("Your name")
    assert await name.evaluate("n => n === n.getRootNode().activeElement")  # focus is in the form
    await page.get_by_role("button", name="Start the chat").click()
    await until(page, in_widget(".problem", "Please enter your name and e-mail."))
    await name.fill("Anna <b>K</b>")
    await page.get_by_label("E-mail", exact=True).fill("anna@")
    await page.keyboard.press("Enter")
    await until(page, in_widget(".problem", "valid e-mail"))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ContactIdentity)) == 0  # nothing sent yet
    await page.get_by_label("E-mail", exact=True).fill("anna@example.com")
    await page.keyboard.press("Enter")
    await until(page, shown("textarea"))
    await until(page, in_widget(".item.bot", "Hello, Anna <b>K</b>"))

    await reach_a_human(page)
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.channel == "web"))
    assert ticket is not None and (ticket.queue_id, ticket.site_id) == (billing, site.id)
    await context.close()

    await make_operator(sessions, "olga@example.com")
    panel_page = await signed_in_page(browser, desk_panel, "olga@example.com", "/inbox")
    await until(panel_page, "document.body.innerText.includes('Anna <b>K</b>')")  # the inbox names her
    await panel_page.goto(desk_panel.url(f"/tickets/{ticket.id}"))
    await until(panel_page, "!!document.querySelector('#customer-card .visitor-email')")
    card = panel_page.locator("#customer-card")
    assert await card.locator(".visitor-name").inner_text() == "Anna <b>K</b>"  # as text, never markup
    assert await card.locator(".visitor-email").inner_text() == "anna@example.com"
    assert await card.locator(".site-name").inner_text() == "Corner shop"
    assert await card.locator("b").count() == 0
    await panel_page.context.close()


async def test_a_form_made_required_while_a_visitor_chats_holds_their_message_until_they_answer_it(
        browser: Any, desk_panel: Panel, sessions: Any,  # noqa: F811
        shop_site: tuple[TestServer, dict[str, str]]) -> None:  # noqa: F811
    server, page_html = shop_site
    shop_origin = f"http://127.0.0.1:{server.port}"
    async with sessions() as session, session.begin():
        site = await site_service.create_site(session, site_service.SiteSettings(
            name="Corner shop", origins=[shop_origin], prechat="optional"))
    page_html["html"] = ("<!doctype html><html><body><h1>Corner shop</h1>"
                         f'<script src="{desk_panel.url("/widget.js")}" data-key="{site.key}" data-lang="en" async>'
                         "</script></body></html>")
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await page.goto(shop_origin + "/")
    await page.click("[data-desk-widget] .bubble")
    await until(page, shown("button.skip"))
    await page.locator("[data-desk-widget] button.skip").click()  # the visitor skips the optional form
    await until(page, shown("textarea"))
    async with sessions() as session, session.begin():  # the admin makes it required meanwhile
        await site_service.update_site(session, site.id, site_service.SiteSettings(prechat="required"))
    await page.reload()
    await page.click("[data-desk-widget] .bubble")
    await until(page, shown("textarea"))  # this widget still thinks the form is done with
    await page.fill("[data-desk-widget] textarea", "where is my parcel?")
    await page.press("[data-desk-widget] textarea", "Enter")
    await until(page, shown("form.prechat"))  # the desk asks for it: the form again, with why
    await until(page, in_widget(".problem", "Please tell us your name and e-mail address before writing."))
    await until(page, in_widget(".item .sending", "sending"))  # the message is kept, not dropped
    assert not await in_dialogue(sessions, "where is my parcel?")
    await page.get_by_label("Your name").fill("Boris")
    await page.get_by_label("E-mail", exact=True).fill("boris@example.com")
    await page.keyboard.press("Enter")

    async with asyncio.timeout(15):
        while not await in_dialogue(sessions, "where is my parcel?"):
            await asyncio.sleep(0.1)
    await until(page, "!(() => { const h = document.querySelector('[data-desk-widget]');"
                      " return [...h.shadowRoot.querySelectorAll('.item .sending')].length; })()")
    async with sessions() as session:
        identity = await session.scalar(select(ContactIdentity).where(ContactIdentity.channel == "web"))
    assert identity is not None and (identity.display_name, identity.given_email) == ("Boris", "boris@example.com")
    await context.close()


async def test_an_admin_makes_a_site_on_the_sites_page(browser: Any, desk_panel: Panel,  # noqa: F811
                                                      sessions: Any) -> None:
    await make_operator(sessions, "root@example.com", role="admin")
    page = await signed_in_page(browser, desk_panel, "root@example.com", "/inbox")
    await page.click("#admin-menu summary")  # the admin pages are in the header's Administration menu
    await page.get_by_role("link", name="Sites").click()
    await page.wait_for_url(desk_panel.url("/admin/sites"))
    new = page.locator(".site-new")
    await new.get_by_label("Name", exact=True).fill("Help centre")
    await new.get_by_label("Origins allowed").fill("https://Help.example/\nhttps://faq.example")
    await new.locator("select.site-prechat").select_option("optional")
    await new.get_by_role("button", name="Create site").click()
    await until(page, "!!document.querySelector('.site[data-site-id] .widget-snippet')")
    async with sessions() as session:
        site = await session.scalar(select(Site).where(Site.name == "Help centre"))
    assert site is not None and site.origins == ["https://faq.example", "https://help.example"]
    assert site.prechat == "optional" and site.store_id is None
    snippet = await page.locator(".site .widget-snippet").input_value()
    assert snippet == f'<script src="{desk_panel.origin}/widget.js" data-key="{site.key}" async></script>'
    await page.context.close()
