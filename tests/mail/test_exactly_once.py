"""Exactly once: a poller killed mid-batch (SIGKILL, or cancelled) and restarted neither duplicates
nor loses a mail; a lost position or a repeated mail is deduplicated by Message-ID."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import MailboxState, Message, OutboxItem, Ticket
from tests.mail.conftest import eventually, mail
from tests.mail.servers import ImapTestServer
from tests.mail.test_threading import _sync_once

ROOT = Path(__file__).resolve().parents[2]


def _mails(n: int) -> list[bytes]:
    found = [mail(subject=f"Question {i}", body=f"Body {i}", sender=f"user{i}@example.com",
                  message_id=f"<q{i}@example.com>") for i in range(n - 1)]
    found.append(mail(subject="No id", body="Mail without Message-ID", sender="noid@example.com", message_id=None))
    return found


async def _count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_poller_killed_mid_batch_and_restarted_makes_no_duplicate_and_loses_nothing(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    database_url: str, dsn: str, tmp_path: Path,
) -> None:
    total = 14
    await imap_server.append(*_mails(total))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.mail.run_poller", str(imap_server.port), database_url, dsn, str(tmp_path),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        async def some_committed() -> bool:
            return await _count(sessions, Message) >= 3

        await eventually(some_committed, timeout=30)
    finally:
        process.send_signal(signal.SIGKILL)  # no chance to finish the batch or flag anything
        await process.wait()
    before = await _count(sessions, Message)
    assert 3 <= before <= total

    poller = make_poller(batch=4)
    task = asyncio.create_task(poller.run())
    try:
        async def half_done() -> bool:  # and kill the restarted one too, by cancellation this time
            return poller.ingested >= 2 or await _count(sessions, Message) == total

        await eventually(half_done)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    poller = make_poller(batch=4)
    task = asyncio.create_task(poller.run())
    try:
        async def all_in() -> bool:
            return await _count(sessions, Message) >= total and poller.status.get("mail") == "ok"

        await eventually(all_in)
        await asyncio.sleep(0.3)  # room for a duplicate to show up, if there were one
    finally:
        poller.stop()
        await asyncio.wait_for(task, 10)

    async with sessions() as session:
        bodies = sorted((await session.scalars(select(Message.body))).all())
        acks = await session.scalar(select(func.count()).select_from(OutboxItem))
    assert bodies == sorted([f"Body {i}" for i in range(total - 1)] + ["Mail without Message-ID"])
    assert await _count(sessions, Ticket) == total
    assert acks == total  # one acknowledgement per ticket, none twice
    flags = await imap_server.flags()
    assert len(flags) == total and all("\\Seen" in f for f in flags.values())


async def test_lost_position_and_repeated_mail_are_deduplicated(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    same = mail(subject="Twice", body="Sent twice, no Message-ID", message_id=None)
    await imap_server.append(mail(message_id="<once@example.com>"), same, same)
    poller = make_poller()
    await _sync_once(poller)
    assert await _count(sessions, Message) == 2
    async with sessions() as session, session.begin():  # as after a UIDVALIDITY change
        await session.execute(delete(MailboxState))
    client = await imap_server.client()
    await client.select("INBOX")
    await client.uid("store", "1:*", "-FLAGS.SILENT (\\Seen)")
    await client.logout()
    await _sync_once(poller)
    assert await _count(sessions, Message) == 2
    assert await _count(sessions, Ticket) == 2
