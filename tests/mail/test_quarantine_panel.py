"""Quarantined mail reaches admins in the panel: live over /ws (admins only), listed with the reason in
the admin's language, the raw mail downloadable as a file, and "Try again" once the cause is fixed —
never shown to operators."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import Message, Ticket
from tests.e2e.test_panel_browser import signed_in_page, until
from tests.mail.conftest import eventually, mail
from tests.mail.servers import USER, ImapTestServer
from tests.mail.test_threading import _sync_once
from tests.web.harness import Panel, drain, login, make_operator, receive_until, start_panel
from tests.web.test_ws import connect

CORPUS = Path(__file__).parent / "corpus"


async def admin_and_operator(panel: Panel, sessions: async_sessionmaker[AsyncSession], admin_language: str = "en",
                             ) -> tuple[ClientSession, dict[str, str], ClientSession, dict[str, str]]:
    """An admin and an operator signed in: each client with its CSRF header."""
    await make_operator(sessions, "root@example.com", role="admin", language=admin_language)
    await make_operator(sessions, "op@example.com")
    admin, operator = panel.client(), panel.client()
    admin_csrf = {"X-CSRF-Token": await login(panel, admin, "root@example.com")}
    return admin, admin_csrf, operator, {"X-CSRF-Token": await login(panel, operator, "op@example.com")}


async def test_admins_see_quarantined_mail_live_and_can_download_it(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    database_url: str, tmp_path: Path,
) -> None:
    panel = await start_panel(database_url, tmp_path)  # shares the poller's attachment store
    try:
        admin, _, operator, _ = await admin_and_operator(panel, sessions, admin_language="ru")
        admin_ws, _ = await connect(panel, admin, after=None)
        operator_ws, _ = await connect(panel, operator, after=None)

        no_sender = (CORPUS / "10_no_sender.eml").read_bytes()
        await imap_server.append(no_sender, (CORPUS / "23_too_large.eml").read_bytes())
        poller = make_poller(max_bytes=100_000)
        task = asyncio.create_task(poller.run())
        try:
            async def both_quarantined() -> bool:
                return poller.quarantined == 2

            await eventually(both_quarantined, timeout=30)
        finally:
            poller.stop()
            await asyncio.wait_for(task, 10)

        frames = await receive_until(admin_ws, lambda f: f.get("type") == "mail.quarantined")
        frames += await drain(admin_ws, 0.5)
        assert [f["data"]["reason"] for f in frames if f.get("type") == "mail.quarantined"] == [
            "no_sender", "too_large"]
        assert not [f for f in await drain(operator_ws, 0.5) if f.get("type") == "mail.quarantined"]

        async with admin.get(panel.url("/api/mail/quarantine?limit=1")) as r:
            first = await r.json()
        assert r.status == 200 and len(first["items"]) == 1 and first["next_before"] == first["items"][0]["id"]
        async with admin.get(panel.url(f"/api/mail/quarantine?before={first['next_before']}")) as r:
            second = await r.json()
        items = first["items"] + second["items"]
        assert [item["reason"] for item in items] == ["too_large", "no_sender"]
        assert items[0]["reason_text"] == "Письмо больше установленного предела."
        assert items[0]["sender"] == "big@example.com" and second["next_before"] is None

        raw_url = panel.url(f"/api/mail/quarantine/{items[1]['id']}/raw")
        async with admin.get(raw_url) as r:
            assert r.status == 200 and await r.read() == no_sender
            assert r.headers["Content-Type"] == "application/octet-stream"
            assert r.headers["Content-Disposition"].startswith("attachment;")
        async with admin.get(panel.url(f"/api/mail/quarantine/{items[0]['id']}/raw")) as r:
            assert r.status == 404  # too large: its bytes were never kept
        for path in ("/api/mail/quarantine", raw_url.removeprefix(panel.origin), "/admin/mail"):
            async with operator.get(panel.url(path)) as r:
                assert r.status == 403, path
        async with admin.get(panel.url("/api/mail/quarantine?limit=0")) as r:
            assert r.status == 422 and "limit" in (await r.json())["fields"]
        async with admin.get(panel.url("/admin/mail")) as r:
            assert r.status == 200 and "Карантин почты" in await r.text()
        await admin_ws.close()
        await operator_ws.close()
    finally:
        await panel.close()


async def quarantine_two(poller: MailPoller, imap_server: ImapTestServer) -> None:
    """Alice's mail, set aside because her address was configured as the desk's own (the panel's
    settings no longer say so), and a mail with no sender at all, which no retry can fix."""
    poller.options = replace(poller.options, own_addresses=frozenset({USER, "alice@example.com"}))
    await imap_server.append(mail(message_id="<r1@example.com>"), (CORPUS / "10_no_sender.eml").read_bytes())
    await _sync_once(poller)


async def test_admins_try_quarantined_mail_again_over_the_api(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    database_url: str, tmp_path: Path,
) -> None:
    panel = await start_panel(database_url, tmp_path)  # shares the poller's attachment store
    try:
        admin, csrf, operator, operator_csrf = await admin_and_operator(panel, sessions)
        admin_ws, _ = await connect(panel, admin, after=None)
        await quarantine_two(make_poller(acknowledge=False), imap_server)
        async with admin.get(panel.url("/api/mail/quarantine")) as r:
            no_sender, alices = (await r.json())["items"]

        def retry(item_id: int) -> str:
            return panel.url(f"/api/mail/quarantine/{item_id}/retry")

        async with operator.post(retry(alices["id"]), headers=operator_csrf) as r:
            assert r.status == 403
        async with admin.post(retry(alices["id"])) as r:
            assert r.status == 403 and (await r.json())["error"] == "csrf"
        async with admin.post(retry(no_sender["id"] + 1000), headers=csrf) as r:
            assert r.status == 404
        async with admin.post(retry(no_sender["id"]), headers=csrf) as r:
            still = await r.json()
        assert r.status == 200 and not still["resolved"] and still["outcome"] == "quarantined"
        assert still["reason"] == "no_sender" and still["reason_text"] == "The mail has no usable sender address."
        async with admin.post(retry(alices["id"]), headers=csrf) as r:
            went_in = await r.json()
        assert r.status == 200 and went_in["resolved"] and went_in["outcome"] == "created"
        frames = await receive_until(admin_ws, lambda f: f.get("type") == "mail.retried" and f["data"]["resolved"])
        assert [(f["data"]["id"], f["data"]["outcome"]) for f in frames if f.get("type") == "mail.retried"] == [
            (no_sender["id"], "quarantined"), (alices["id"], "created")]

        async with sessions() as session:
            ticket = await session.get(Ticket, went_in["ticket_id"])
            message = await session.get(Message, went_in["message_id"])
        assert ticket is not None and message is not None and message.body == "It does not print."
        async with admin.get(panel.url("/api/mail/quarantine")) as r:
            left = (await r.json())["items"]
        assert [(item["id"], item["reason"], item["retries"]) for item in left] == [(no_sender["id"], "no_sender", 1)]
        async with admin.post(retry(alices["id"]), headers=csrf) as r:
            assert r.status == 404  # resolved: nothing left to try
        async with operator.post(retry(no_sender["id"]), headers=operator_csrf) as r:
            assert r.status == 403
        await admin_ws.close()
    finally:
        await panel.close()


@pytest.mark.browser
async def test_an_admin_clicks_try_again_in_the_panel(
    browser: Any, imap_server: ImapTestServer, make_poller: Callable[..., MailPoller],
    sessions: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path, artifacts_dir: Path,
) -> None:
    panel: Panel = await start_panel(database_url, tmp_path)
    try:
        await make_operator(sessions, "root@example.com", role="admin")
        page = await signed_in_page(browser, panel, "root@example.com", "/inbox")
        await page.goto(panel.url("/admin/mail"))
        await page.wait_for_selector("#conn-state[data-state=live]")
        await quarantine_two(make_poller(acknowledge=False), imap_server)
        await until(page, "document.querySelectorAll('#quarantine-rows tr').length === 2")  # live, no reload
        alices, no_sender = (f"#quarantine-rows tr:has-text('{subject}')"
                             for subject in ("Printer is broken", "Nobody sent this"))

        await page.click(f"{no_sender} button.retry")
        await until(page, "document.querySelector('#admin-notice').textContent.startsWith('Still quarantined')")
        assert await page.text_content("#admin-notice") == (
            "Still quarantined: The mail has no usable sender address.")
        await page.wait_for_selector(f"{no_sender} .retried")

        await page.click(f"{alices} button.retry")
        await until(page, "document.querySelectorAll('#quarantine-rows tr').length === 1")
        async with sessions() as session:
            ticket_id = await session.scalar(select(Ticket.id))
        assert await page.text_content("#admin-notice") == f"The mail went in: ticket #{ticket_id}."
        await page.screenshot(path=str(artifacts_dir / "quarantine-retry.png"), full_page=True)
        await page.context.close()
    finally:
        await panel.close()
