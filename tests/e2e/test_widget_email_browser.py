# ruff: noqa: F811  (fixtures imported from the mail and widget tests are parameters here)
"""Nobody is online: a visitor in Chromium, after the handoff, reads that nobody answers now and leaves an
e-mail address in the widget (a malformed one is refused where it was typed); the desk keeps it for the
replies the visitor would miss. The same notice in Russian on a Russian page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.kb.transfer import import_articles, read_articles
from core.models import ContactIdentity
from core.services.contacts import reply_email_of
from tests.e2e.test_widget_browser import KB_SEED, in_widget, shop_site, until  # noqa: F401
from tests.mail.conftest import imap_server, smtp_sink  # noqa: F401
from tests.mail.servers import PASSWORD, USER, ImapTestServer, SmtpSink
from tests.shop import origin_of, show, store_site, widget_tag
from tests.web.harness import Panel, start_panel

pytestmark = pytest.mark.browser


@pytest.fixture
async def mailing_panel(database_url: str, tmp_path: Path, smtp_sink: SmtpSink,
                        imap_server: ImapTestServer) -> AsyncIterator[Panel]:
    """The desk with its mailbox set up (the widget offers the e-mail field only where the desk mails)."""
    running = await start_panel(database_url, tmp_path / "panel", settings_overrides={
        "widget_enabled": True, "smtp_host": "127.0.0.1", "smtp_port": smtp_sink.port, "smtp_security": "plain",
        "smtp_from": "Desk Support <support@desk.test>", "imap_host": "127.0.0.1", "imap_port": imap_server.port,
        "imap_user": USER, "imap_password": PASSWORD, "imap_security": "plain"}, ws_heartbeat=5.0)
    async with running.desk.sessions() as session, session.begin():
        await import_articles(session, read_articles(KB_SEED))
    yield running
    await running.close()


async def shop_page(panel: Panel, sessions: async_sessionmaker[AsyncSession], shop: tuple[TestServer, dict[str, str]],
                    language: str) -> str:
    """The shop's page; the Russian one names the key `data-site` (the same as `data-key`)."""
    attribute = "data-site" if language == "ru" else "data-key"
    key = (await store_site(sessions, [origin_of(shop)], name=f"Shop {language}")).key
    return show(shop, widget_tag(panel, key, language, attribute), heading="Shop", lang=language)


async def hand_off(page: Any, question: str, human: str, topic: str, opened: str) -> None:
    await page.click("[data-desk-widget] .bubble")
    await page.fill("[data-desk-widget] textarea", question)
    await page.press("[data-desk-widget] textarea", "Enter")
    await page.locator("[data-desk-widget] .item.bot").last.get_by_role("button", name=human).click()
    await page.get_by_role("button", name=topic).click()
    await until(page, in_widget(".item.bot", opened))


async def test_nobody_online_the_visitor_leaves_an_email_for_missed_replies(
    browser: Any, mailing_panel: Panel, sessions: Any, shop_site: tuple[TestServer, dict[str, str]]
) -> None:
    origin = await shop_page(mailing_panel, sessions, shop_site, "en")
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await page.goto(origin + "/")
    await hand_off(page, "how do I reset my password?", "Talk to a human", "Technical support", "is open")
    await until(page, in_widget(".away", "Nobody is online right now."))
    assert await page.evaluate(in_widget(".away", "Leave your e-mail"))

    field = page.get_by_label("Your e-mail")
    await field.fill("anna at example")
    await field.press("Enter")
    await until(page, in_widget(".away .bad", "like name@example.com"))
    assert await field.get_attribute("aria-invalid") == "true"

    await field.fill("Anna@Example.com")
    await page.get_by_role("button", name="Save").click()
    await until(page, in_widget(".away", "We'll also send replies you miss to anna@example.com."))
    async with sessions() as session:
        identity = await session.scalar(select(ContactIdentity).where(ContactIdentity.channel == "web"))
    assert identity is not None and reply_email_of(identity) == "anna@example.com"
    await context.close()


async def test_the_notice_and_the_field_speak_russian_on_a_russian_page(
    browser: Any, mailing_panel: Panel, sessions: Any, shop_site: tuple[TestServer, dict[str, str]]
) -> None:
    origin = await shop_page(mailing_panel, sessions, shop_site, "ru")
    context = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="ru-RU")
    page = await context.new_page()
    await page.goto(origin + "/")
    await hand_off(page, "как сбросить пароль?", "Поговорить с человеком", "Техническая поддержка", "открыта")
    await until(page, in_widget(".away", "Сейчас никого нет на связи."))
    assert await page.evaluate(in_widget(".away", "Оставьте e-mail"))
    await page.get_by_label("Ваш e-mail").fill("ivan@example.ru")
    await page.get_by_role("button", name="Сохранить").click()
    await until(page, in_widget(".away", "Пропущенные ответы мы пришлём и на ivan@example.ru."))
    await context.close()
