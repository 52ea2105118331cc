"""An IMAP server that goes away and comes back, and a refused login: logged once, retried with
backoff, visible as the `mail` component state, and nothing in between is lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import Message
from tests.mail.conftest import eventually, mail
from tests.mail.servers import ImapTestServer


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_imap_server_that_disappears_and_comes_back(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="core.mail.poller")
    status: dict[str, str] = {}
    poller = make_poller(status=status)
    task = asyncio.create_task(poller.run())
    try:
        await imap_server.append(mail(message_id="<before@example.com>"))

        async def first_in() -> bool:
            return await _messages(sessions) == 1

        await eventually(first_in)
        await imap_server.stop()

        async def down() -> bool:
            return status.get("mail") == "down"

        await eventually(down)
        await asyncio.sleep(1.0)  # several refused reconnects at the 0.05-0.3 s backoff
        await imap_server.start()  # same port, same mailbox
        await imap_server.append(mail(subject="After", body="Back again", message_id="<after@example.com>"))

        async def second_in() -> bool:
            return await _messages(sessions) == 2 and status.get("mail") == "ok"

        await eventually(second_in)
    finally:
        poller.stop()
        await asyncio.wait_for(task, 10)
    outage_logs = [r for r in caplog.records if r.getMessage() == "mail intake down"]
    assert len(outage_logs) == 1  # logged once per outage, however many retries
    assert any(r.getMessage() == "mail intake restored" for r in caplog.records)


async def test_refused_login_is_shown_and_logged_once(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="core.mail.poller")
    status: dict[str, str] = {}
    poller = make_poller(status=status, password="wrong-password")
    task = asyncio.create_task(poller.run())
    try:
        async def refused() -> bool:
            return status.get("mail") == "login_failed"

        await eventually(refused)
        await asyncio.sleep(1.0)
    finally:
        poller.stop()
        await asyncio.wait_for(task, 10)
    assert status["mail"] == "login_failed"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["mail intake login_failed"]
    assert "wrong-password" not in caplog.text


async def test_second_poller_stands_by_while_the_first_holds_the_mailbox(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller],
) -> None:
    first_status: dict[str, str] = {}
    second_status: dict[str, str] = {}
    first = make_poller(status=first_status)
    second = make_poller(status=second_status, poll_seconds=0.2)
    tasks = [asyncio.create_task(first.run())]
    try:
        async def first_ok() -> bool:
            return first_status.get("mail") == "ok"

        await eventually(first_ok)
        tasks.append(asyncio.create_task(second.run()))

        async def second_waits() -> bool:
            return second_status.get("mail") == "standby"

        await eventually(second_waits)
        first.stop()
        await asyncio.wait_for(tasks[0], 10)

        async def second_takes_over() -> bool:
            return second_status.get("mail") == "ok"

        await eventually(second_takes_over)
    finally:
        first.stop()
        second.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
