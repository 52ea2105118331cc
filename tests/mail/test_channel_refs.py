"""E-mail's ids in `channel_refs`: a part's Content-ID is the attachment's e-mail ref, a mail's Message-ID
the message's, both ways."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import Attachment, Message, Operator
from core.outbox import OutboxWorker
from core.services import conversations
from tests.mail.servers import ImapTestServer, SmtpSink
from tests.mail.test_threading import _sync_once

MAIL_WITH_PARTS = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: support@desk.test\r\n"
    b"Subject: Screenshot and log\r\n"
    b"Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
    b"Message-ID: <parts1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b'Content-Type: multipart/related; boundary="b2"\r\n'
    b"\r\n"
    b"--b2\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"The screen is in the mail, the log attached.\r\n"
    b"--b2\r\n"
    b'Content-Type: image/png; name="screen.png"\r\n'
    b"Content-Disposition: inline; filename=\"screen.png\"\r\n"
    b"Content-ID: <screen.1@mail.example.com>\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"iVBORw0KGgpQTkc=\r\n"
    b"--b2--\r\n"
    b"--b1\r\n"
    b'Content-Type: text/plain; name="app.log"\r\n'
    b'Content-Disposition: attachment; filename="app.log"\r\n'
    b"\r\n"
    b"ERROR 42\r\n"
    b"--b1--\r\n"
)


async def test_content_id_and_message_id_land_in_channel_refs(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink, outbox_worker: OutboxWorker, operator: Operator,
) -> None:
    await imap_server.append(MAIL_WITH_PARTS)
    await _sync_once(make_poller(acknowledge=False))
    async with sessions() as session:
        message = await session.scalar(select(Message).where(Message.author_kind == "customer"))
        assert message is not None
        files = (await session.scalars(select(Attachment).where(Attachment.message_id == message.id)
                                       .order_by(Attachment.id))).all()
    assert message.channel_refs == {"email": ["<parts1@example.com>"]}
    assert [(f.file_name, f.channel_refs) for f in files] == [
        ("screen.png", {"email": "<screen.1@mail.example.com>"}), ("app.log", {})]

    async with sessions() as session, session.begin():
        answer = await conversations.operator_replied(session, ticket_id=message.ticket_id, operator=operator,
                                                      body="Thanks, the log helps.")
    assert await outbox_worker.run_once() == 1
    sent = smtp_sink.handler.received[0]
    async with sessions() as session:
        stored = await session.get(Message, answer.id)
    assert stored is not None and stored.channel_refs == {"email": [sent["Message-ID"]]}
    assert sent["In-Reply-To"] == "<parts1@example.com>"
