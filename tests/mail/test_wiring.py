"""The composition root's email parts, built from settings: a mail in, its acknowledgement out."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.runtime import build_mail
from core.models import Ticket
from core.outbox import OutboxWorker
from core.services.conversations import record_delivery
from core.settings import load_settings
from desk import _start, build_desk
from tests.mail.conftest import mail
from tests.mail.servers import PASSWORD, USER, ImapTestServer, SmtpSink


async def test_desk_built_from_settings_takes_mail_in_and_answers_it(
    imap_server: ImapTestServer, smtp_sink: SmtpSink, database_url: str, tmp_path: Path,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = load_settings(
        _env_file=None, desk_data_dir=tmp_path, imap_host="127.0.0.1", imap_port=imap_server.port, imap_user=USER,
        imap_password=PASSWORD, imap_security="plain", smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
        smtp_security="plain", smtp_from="Desk <support@desk.test>", smtp_reply_to="help@desk.test",
    )
    desk = build_desk(settings, database_url)
    parts = build_mail(desk)
    assert parts.channel is not None and parts.poller is not None
    worker = OutboxWorker(desk.sessions, {parts.channel.name: parts.channel}, on_outcome=[record_delivery])
    tasks = [asyncio.create_task(parts.poller.run()), asyncio.create_task(worker.run())]
    try:
        await imap_server.append(mail(sender="Dan <dan@example.com>", message_id="<w1@example.com>"))
        await asyncio.wait_for(smtp_sink.handler.arrived.wait(), 15)
        assert desk.components["mail"] == "ok"
    finally:
        parts.poller.stop()
        worker.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await desk.engine.dispose()
    sent = smtp_sink.handler.received[0]
    assert (sent["To"], sent["Reply-To"], sent["From"]) == ("dan@example.com", "help@desk.test",
                                                            "Desk <support@desk.test>")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_without_imap_the_mail_component_is_off(database_url: str, tmp_path: Path) -> None:
    desk = build_desk(load_settings(_env_file=None, desk_data_dir=tmp_path), database_url)
    parts = build_mail(desk)
    await desk.engine.dispose()
    assert (parts.channel, parts.poller, desk.components["mail"]) == (None, None, "off")



async def test_healthz_shows_the_mail_component_of_a_running_worker(
    imap_server: ImapTestServer, database_url: str, tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(
        _env_file=None, desk_data_dir=tmp_path, web_port=port, imap_host="127.0.0.1", imap_port=imap_server.port,
        imap_user=USER, imap_password=PASSWORD, imap_security="plain",
    )
    desk = build_desk(settings, database_url)

    async def component() -> str:
        async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            return str((await response.json())["components"].get("mail"))

    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(desk.engine.dispose)
        await _start(desk, {"worker", "web"}, stack)
        for _ in range(100):
            if await component() == "ok":
                break
            await asyncio.sleep(0.1)
        assert await component() == "ok"
        await imap_server.stop()
        for _ in range(100):
            if await component() == "down":
                break
            await asyncio.sleep(0.1)
        assert await component() == "down"  # and the rest of the desk still answers
