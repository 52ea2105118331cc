"""An admin in Chromium on the Staff group page: links their Telegram with the page's one-time link,
links the group from Telegram and sees it appear live; when the bot is removed from the group, the row
says so live (the ticket still opened, in the panel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.models import Operator, Queue, StaffGroup
from tests.bot.flows import hand_off
from tests.botapi.server import TelegramServer
from tests.e2e.test_panel_browser import signed_in_page, until
from tests.staffgroup.flows import link
from tests.waiting import eventually
from tests.web.harness import Panel, make_operator

pytestmark = pytest.mark.browser

ROWS = "#staff-group-rows tr"


async def test_an_admin_links_telegram_and_the_group_and_sees_its_state_live(
    browser: Any, panel: Panel, telegram: TelegramServer, desk_bot: Any, sessions: Any, artifacts_dir: Path
) -> None:
    await desk_bot()
    await make_operator(sessions, "root@example.com", role="admin")
    page = await signed_in_page(browser, panel, "root@example.com", "/inbox")
    await page.click("nav a[href='/admin/staff-group']")
    await page.wait_for_selector("#conn-state[data-state=live]")
    await until(page, "!document.querySelector('#staff-group-empty').hidden")
    assert await page.is_hidden("#telegram-linked")

    await page.click("#telegram-link")
    await page.wait_for_selector("#telegram-link-out:not([hidden])")
    shown = (await page.text_content("#telegram-link-url") or "") + (await page.text_content("#telegram-link-start")
                                                                     or "")
    payload = shown.split("start=")[-1].split()[-1].removeprefix("/start")
    alla = telegram.user("Alla")
    await telegram.send(alla, f"/start {payload}")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == alla.id and "Done" in c.text)
    await telegram.settled()
    async with sessions() as session:
        admin = await session.scalar(select(Operator).where(Operator.email == "root@example.com"))
    assert admin.telegram_user_id == alla.id

    group = telegram.group("Support staff")
    await link(telegram, alla, group)
    await until(page, f"document.querySelectorAll('{ROWS}').length === 1", timeout=10)  # live, no reload
    assert await page.text_content(f"{ROWS} td.state") == "Working"
    await page.reload()
    await page.wait_for_selector("#telegram-linked:not([hidden])")

    group.bot_status = "kicked"  # someone removed the bot from the group
    await hand_off(telegram, telegram.user("Anna"), "/human")
    await until(page, f"document.querySelector('{ROWS} td.state')?.dataset.state === 'removed'", timeout=15)
    assert "no longer in the group" in (await page.text_content(f"{ROWS} td.state") or "")
    await page.screenshot(path=str(artifacts_dir / "staff-group-removed.png"), full_page=True)
    await page.context.close()


async def test_an_admin_picks_the_queue_a_group_serves_an_operator_only_sees_it(
    browser: Any, panel: Panel, sessions: Any, artifacts_dir: Path
) -> None:
    async with sessions() as session, session.begin():
        general = await session.scalar(select(Queue).where(Queue.slug == "general"))
        group = StaffGroup(chat_id=-1001, title="Support staff", state="ok")
        session.add(group)
        await session.flush()
        group_id = group.id
    await make_operator(sessions, "root@example.com", role="admin")
    await make_operator(sessions, "op@example.com", role="operator", language="ru")
    page = await signed_in_page(browser, panel, "root@example.com", "/inbox")
    await page.goto(panel.url("/admin/staff-group"))
    await page.wait_for_selector(f"{ROWS} select.serves")
    assert await page.input_value(f"{ROWS} select.serves") == ""  # the default group
    assert "cannot add the bot" in (await page.text_content("#staff-group-bot-note") or "")

    await page.select_option(f"{ROWS} select.serves", str(general.id))
    await until(page, "document.querySelector('#admin-notice').textContent.includes('Saved')")

    async def serves_general() -> bool:
        async with sessions() as session:
            return (await session.get(StaffGroup, group_id)).queue_id == general.id

    await eventually(serves_general)
    await page.reload()
    await page.wait_for_selector(f"{ROWS} select.serves")
    assert await page.input_value(f"{ROWS} select.serves") == str(general.id)
    await page.screenshot(path=str(artifacts_dir / "staff-group-queue.png"), full_page=True)
    await page.context.close()

    seen = await signed_in_page(browser, panel, "op@example.com", "/inbox")
    await seen.goto(panel.url("/admin/staff-group"))
    await seen.wait_for_selector(f"{ROWS} td.state")
    assert await seen.query_selector(f"{ROWS} select") is None  # operators see, cannot change
    assert await seen.is_hidden(f"{ROWS} button.unlink")
    assert (await seen.text_content(f"{ROWS} td:nth-child(2)")) == "Общие вопросы"
    assert "не может добавить бота" in (await seen.text_content("#staff-group-bot-note") or "")
    await seen.context.close()
