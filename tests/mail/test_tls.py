"""Mail over TLS with verified certificates: the poller reads over implicit TLS and over STARTTLS, replies
leave over both, and a server whose certificate is not trusted is refused (nothing read, nothing sent,
the failure shown) until the CA is configured with MAIL_CA_FILE."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import load_translator
from core.mail.imap import ImapConfig, ImapSession
from core.mail.intake import IntakeOptions
from core.mail.poller import COMPONENT, MailPoller
from core.mail.runtime import imap_config, smtp_config
from core.mail.smtp import EmailChannel, SmtpConfig
from core.models import Message, Operator, OutboxItem, Ticket
from core.outbox import Backoff, OutboxWorker
from core.services import conversations
from core.services.contacts import contact_for_email
from core.services.conversations import record_delivery
from core.settings import load_settings
from core.storage import FolderStore
from tests.mail.conftest import DESK_ADDRESS, eventually, mail
from tests.mail.servers import PASSWORD, USER, ImapTestServer, SmtpSink


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(params=["ssl", "starttls"])
async def tls_imap(request: pytest.FixtureRequest, ca: trustme.CA) -> AsyncIterator[ImapTestServer]:
    server = ImapTestServer(security=request.param, tls=server_context(ca))
    await server.start()
    yield server
    await server.stop()


def poller_for(server: ImapTestServer, sessions: async_sessionmaker[AsyncSession], dsn: str, tmp_path: Path,
               ca_file: str | None) -> MailPoller:
    imap = ImapConfig(host="127.0.0.1", port=server.port, user=USER, password=PASSWORD, security=server.security,
                      timeout=5, ca_file=ca_file)
    options = IntakeOptions(mailbox=imap.mailbox, own_addresses=frozenset({USER}), reopen_window_hours=72,
                            acknowledge=False, default_language="en")
    return MailPoller(sessions=sessions, dsn=dsn, storage=FolderStore(tmp_path / "files", 1 << 20),
                      translator=load_translator(), imap=imap, options=options, poll_seconds=30.0,
                      retry_base=0.05, retry_max=0.3)


async def test_the_poller_reads_over_tls_only_from_a_trusted_server(
    tls_imap: ImapTestServer, sessions: async_sessionmaker[AsyncSession], dsn: str, tmp_path: Path, ca_file: str,
) -> None:
    await tls_imap.append(mail(subject=f"Over {tls_imap.security}", message_id="<tls1@example.com>"))

    # Not configured to trust the server's CA: refused, shown as down, nothing read.
    untrusted = poller_for(tls_imap, sessions, dsn, tmp_path, ca_file=None)
    with pytest.raises(ssl.SSLCertVerificationError):
        await ImapSession(untrusted.imap).open()
    task = asyncio.create_task(untrusted.run())
    try:
        async def shown_down() -> bool:
            return untrusted.status.get(COMPONENT) == "down"

        await eventually(shown_down)
    finally:
        untrusted.stop()
        await asyncio.wait_for(task, 10)
    assert untrusted.ingested == 0

    trusted = poller_for(tls_imap, sessions, dsn, tmp_path, ca_file=ca_file)
    task = asyncio.create_task(trusted.run())
    try:
        async def ingested() -> bool:
            return trusted.ingested == 1

        await eventually(ingested)
        assert trusted.status.get(COMPONENT) == "ok"
    finally:
        trusted.stop()
        await asyncio.wait_for(task, 10)
    async with sessions() as session:
        subject = await session.scalar(select(Ticket.subject))
    assert subject == f"Over {tls_imap.security}"
    assert all("\\Seen" in flags for flags in (await tls_imap.flags()).values())


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_replies_leave_over_tls_only_to_a_trusted_server(
    security: str, ca: trustme.CA, ca_file: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path,
    operator: Operator,
) -> None:
    sink = SmtpSink(security=security, tls=server_context(ca))
    await sink.start()
    storage = FolderStore(tmp_path / "files", 1 << 20)
    try:
        async with sessions() as session, session.begin():
            ticket_id = await _email_ticket(session)
            reply = await conversations.operator_replied(session, ticket_id=ticket_id, operator=operator,
                                                         body="Sent over TLS.")
        for trusted, expected_state in ((None, "queued"), (ca_file, "sent")):
            config = SmtpConfig(host="127.0.0.1", port=sink.port, sender=DESK_ADDRESS, security=security,
                                timeout=5, ca_file=trusted)
            worker = OutboxWorker(sessions, {"email": EmailChannel(sessions, storage, config)},
                                  backoff=Backoff(base=0.0, cap=0.0, max_attempts=5), on_outcome=[record_delivery])
            assert await worker.run_once() == 1
            async with sessions() as session:
                message = await session.get(Message, reply.id)
                item = await session.scalar(select(OutboxItem))
            assert message is not None and item is not None
            if trusted is None:  # refused before a byte of the mail left; retried, not failed
                assert not sink.handler.received and item.state == "pending" and "CERTIFICATE_VERIFY_FAILED" in (
                    item.last_error or "")
            else:
                assert item.state == "sent" and message.delivery_state == expected_state
        assert [m["Subject"] for m in sink.handler.received] == [f"Re: [#{ticket_id}] Printer"]
    finally:
        await sink.stop()


async def _email_ticket(session: AsyncSession) -> int:
    contact = await contact_for_email(session, "alice@example.com", "Alice")
    ticket, _ = await conversations.open_ticket(session, contact=contact, channel="email", queue_slug="email",
                                                subject="Printer")
    return ticket.id


def test_mail_ca_file_reaches_both_configs(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, imap_host="imap.example.com", imap_user="u", imap_password="p",
                             smtp_host="smtp.example.com", smtp_from="s@example.com", mail_ca_file=tmp_path / "ca.pem")
    assert imap_config(settings).ca_file == smtp_config(settings).ca_file == str(tmp_path / "ca.pem")
    assert imap_config(settings).security == smtp_config(settings).security == "ssl"
