"""Quarantined mail reaches admins in the panel: live over /ws (admins only), listed with the reason in
the admin's language, and the raw mail downloadable as a file — never shown to operators."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from tests.mail.conftest import eventually
from tests.mail.servers import ImapTestServer
from tests.web.harness import drain, login, make_operator, receive_until, start_panel
from tests.web.test_ws import connect

CORPUS = Path(__file__).parent / "corpus"


async def test_admins_see_quarantined_mail_live_and_can_download_it(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    database_url: str, tmp_path: Path,
) -> None:
    panel = await start_panel(database_url, tmp_path)  # shares the poller's attachment store
    try:
        await make_operator(sessions, "root@example.com", role="admin", language="ru")
        await make_operator(sessions, "op@example.com")
        admin, operator = panel.client(), panel.client()
        await login(panel, admin, "root@example.com")
        await login(panel, operator, "op@example.com")
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
