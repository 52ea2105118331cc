from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import load_translator
from core.mail.imap import ImapConfig
from core.mail.intake import IntakeOptions
from core.mail.poller import MailPoller
from core.mail.smtp import EmailChannel, SmtpConfig
from core.models import Operator
from core.outbox import Backoff, OutboxWorker
from core.services.conversations import record_delivery
from core.services.operators import create_operator
from core.storage import AttachmentStore
from core.storage_db import DatabaseStore
from tests.mail.servers import PASSWORD, USER, ImapTestServer, SmtpSink

DESK_ADDRESS = "Desk Support <support@desk.test>"


@pytest.fixture
async def imap_server() -> AsyncIterator[ImapTestServer]:
    server = ImapTestServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
def storage(sessions: async_sessionmaker[AsyncSession]) -> AttachmentStore:
    """The store a desk on this database uses by default (the panel's downloads read the same files)."""
    return DatabaseStore(sessions, 5 * 1024 * 1024)


@pytest.fixture
def make_poller(
    sessions: async_sessionmaker[AsyncSession], dsn: str, storage: AttachmentStore, imap_server: ImapTestServer
) -> Callable[..., MailPoller]:
    def make(**overrides: object) -> MailPoller:
        imap = ImapConfig(host="127.0.0.1", port=imap_server.port, user=USER,
                          password=str(overrides.pop("password", PASSWORD)), security="plain", timeout=5)
        options = IntakeOptions(mailbox=imap.mailbox, own_addresses=frozenset({USER}), reopen_window_hours=72,
                                acknowledge=bool(overrides.pop("acknowledge", True)), default_language="en")
        values: dict[str, object] = {"poll_seconds": 30.0, "retry_base": 0.05, "retry_max": 0.3}
        values.update(overrides)
        return MailPoller(sessions=sessions, dsn=dsn, storage=storage, translator=load_translator(), imap=imap,
                          options=options, **values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def channel(sessions: async_sessionmaker[AsyncSession], storage: AttachmentStore, smtp_sink: SmtpSink) -> EmailChannel:
    config = SmtpConfig(host="127.0.0.1", port=smtp_sink.port, sender=DESK_ADDRESS, security="plain", timeout=5)
    return EmailChannel(sessions, storage, config)


@pytest.fixture
def outbox_worker(sessions: async_sessionmaker[AsyncSession], channel: EmailChannel) -> OutboxWorker:
    return OutboxWorker(sessions, {"email": channel}, backoff=Backoff(base=0.01, cap=0.05, max_attempts=5),
                        on_outcome=[record_delivery])


@pytest.fixture
async def operator(sessions: async_sessionmaker[AsyncSession]) -> Operator:
    async with sessions() as session, session.begin():
        return await create_operator(session, email="op@desk.test", password="operator-pass-1", role="operator",
                                     display_name="Olga")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until `check()` holds (a real server and poller run concurrently)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def mail(
    subject: str = "Printer is broken",
    body: str = "It does not print.",
    sender: str = "Alice <alice@example.com>",
    message_id: str | None = "<m1@example.com>",
    extra: str = "",
) -> bytes:
    headers = [f"From: {sender}", "To: support@desk.test", f"Subject: {subject}",
               "Date: Mon, 23 Nov 2026 09:00:00 +0000", "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=utf-8"]
    if message_id:
        headers.append(f"Message-ID: {message_id}")
    if extra:
        headers.extend(extra.strip().splitlines())
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()
