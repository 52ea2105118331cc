"""PostgreSQL restarts under a running desk: a customer message that arrives while the database is down
is refused (not acknowledged), redelivered and stored once when it is back; the listener catches up, so
the operator's socket gets every message exactly once; the operator's reply after the restart reaches
Telegram. The desk here runs on a PostgreSQL server of its own, which the test stops and starts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.embedded_pg import EmbeddedPostgres, remove_cluster
from core.migrate import upgrade
from core.models import Message, ProcessedUpdate
from tests.bot.flows import hand_off, ticket_messages
from tests.botapi import TelegramServer
from tests.botapi.running import start_desk_bot
from tests.web.harness import drain, login, make_operator, receive_until, start_panel
from tests.web.test_ws import connect

pytestmark = pytest.mark.slow


async def test_a_database_restart_loses_no_acknowledged_message(telegram: TelegramServer) -> None:
    base = Path(tempfile.mkdtemp(prefix="desk-restart-"))
    server = EmbeddedPostgres(base / "pg")
    url = await server.astart()
    running = panel = None
    try:
        await upgrade(url)
        running = await start_desk_bot(telegram, url, base / "bot", mode="webhook")
        panel = await start_panel(url, base / "panel")
        sessions = running.sessions
        await make_operator(sessions, "olga@example.com")
        operator = panel.client()
        csrf = {"X-CSRF-Token": await login(panel, operator, "olga@example.com")}
        ws, _ = await connect(panel, operator, after=None)

        anna = telegram.user("Anna", language_code="en")
        ticket_id = await hand_off(telegram, anna, "/human")
        await telegram.send(anna, "before the restart")
        await telegram.settled()

        await server.astop()  # the database goes away under the running desk
        await telegram.send(anna, "while the database is down")
        update_id = telegram.updates[-1]["update_id"]
        refused = await telegram.webhook_attempts_for(update_id, count=2, timeout=15)
        assert all(attempt.status != 200 for attempt in refused)  # never acknowledged while down

        server = EmbeddedPostgres(base / "pg")
        assert await server.astart() == url  # the same server comes back
        await telegram.wait_confirmed(update_id, timeout=30)

        bodies = [m.body for m in await ticket_messages(sessions, ticket_id) if m.author_kind == "customer"]
        assert bodies.count("before the restart") == 1 and bodies.count("while the database is down") == 1
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)
                                        .where(ProcessedUpdate.update_id == update_id)) == 1

        frames = await receive_until(
            ws, lambda f: f.get("type") == "message.created" and f["data"]["body"] == "while the database is down",
            timeout=30)
        frames += await drain(ws, 0.5)
        live = [f["data"]["body"] for f in frames if f.get("type") == "message.created"]
        assert live.count("before the restart") == 1 and live.count("while the database is down") == 1
        ids = [f["id"] for f in frames if "id" in f]
        assert ids == sorted(set(ids))  # in order, none twice

        async with operator.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "We are back."},
                                 headers=csrf) as r:
            assert r.status == 201
        await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "We are back." in c.text,
                                     timeout=30)
        async with sessions() as session:
            reply = await session.scalar(select(Message).where(Message.body == "We are back."))
        assert reply is not None
        await ws.close()
    finally:
        if panel is not None:
            await panel.close()
        if running is not None:
            await running.stop()
        await server.astop()
        remove_cluster(base)
