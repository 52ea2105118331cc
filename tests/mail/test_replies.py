"""Operator replies and acknowledgements leave through the outbox to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import MailQuarantine, Message, Operator, OutboxItem, Ticket
from core.outbox import OutboxWorker
from core.services import conversations
from core.services.conversations import NewAttachment
from core.storage import AttachmentStore
from tests.mail.conftest import mail
from tests.mail.servers import ImapTestServer, SmtpSink
from tests.mail.test_threading import _sync_once


async def _ticket(sessions: async_sessionmaker[AsyncSession]) -> Ticket:
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket is not None
    return ticket


async def test_operator_reply_arrives_in_the_thread_with_its_attachment(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink, outbox_worker: OutboxWorker, operator: Operator, storage: AttachmentStore,
) -> None:
    await imap_server.append(mail(message_id="<r1@example.com>"))
    await imap_server.append(mail(subject="Re: Printer is broken", body="Model X200", message_id="<r2@example.com>",
                                  extra="In-Reply-To: <r1@example.com>\r\nReferences: <r1@example.com>"))
    poller = make_poller(acknowledge=False)
    await _sync_once(poller)
    ticket = await _ticket(sessions)
    pdf = b"%PDF-1.4 manual for the X200"
    stored = await storage.save(pdf, "manual.pdf", "application/pdf")
    async with sessions() as session, session.begin():
        reply = await conversations.operator_replied(
            session, ticket_id=ticket.id, operator=operator, body="Please try the steps in the manual.\n\nOlga",
            attachments=(NewAttachment("manual.pdf", "application/pdf", stored.size, stored.sha256,
                                       stored.storage_key),),
        )
    assert await outbox_worker.run_once() == 1
    assert len(smtp_sink.handler.received) == 1
    sent: EmailMessage = smtp_sink.handler.received[0]
    assert sent["To"] == "alice@example.com"
    assert sent["From"] == "Desk Support <support@desk.test>"
    assert sent["Reply-To"] == "Desk Support <support@desk.test>"
    assert sent["Subject"] == f"Re: [#{ticket.id}] Printer is broken"
    assert sent["Message-ID"] == f"<desk.m{reply.id}.t{ticket.id}@desk.test>"
    assert sent["In-Reply-To"] == "<r2@example.com>"
    assert sent["References"].split() == ["<r1@example.com>", "<r2@example.com>"]
    text = sent.get_body(preferencelist=("plain",))
    html = sent.get_body(preferencelist=("html",))
    assert text is not None and "Please try the steps in the manual." in text.get_content()
    assert html is not None and "<p>Please try the steps in the manual.</p>" in html.get_content()
    files = [(part.get_filename(), part.get_content()) for part in sent.iter_attachments()]
    assert files == [("manual.pdf", pdf)]
    async with sessions() as session:
        stored_reply = await session.get(Message, reply.id)
    assert stored_reply is not None
    assert (stored_reply.delivery_state, stored_reply.external_id) == ("sent", sent["Message-ID"])

    # The customer answers our mail: it threads back by our Message-ID alone.
    await imap_server.append(mail(subject="Thanks", body="Works now", message_id="<r3@example.com>",
                                  extra=f"In-Reply-To: {sent['Message-ID']}"))
    await _sync_once(poller)
    async with sessions() as session:
        bodies = (await session.scalars(select(Message.body).where(Message.ticket_id == ticket.id)
                                        .order_by(Message.id))).all()
    assert bodies == ["It does not print.", "Model X200", "Please try the steps in the manual.\n\nOlga", "Works now"]


async def test_new_ticket_is_acknowledged_in_the_senders_language(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink, outbox_worker: OutboxWorker,
) -> None:
    await imap_server.append(mail(subject="Принтер", body="Не печатает", message_id="<ru1@example.com>",
                                  extra="Content-Language: ru-RU"))
    await imap_server.append(mail(subject="Still?", body="Follow-up", message_id="<ru2@example.com>",
                                  extra="In-Reply-To: <ru1@example.com>\r\nContent-Language: ru"))
    await _sync_once(make_poller())
    ticket = await _ticket(sessions)
    assert await outbox_worker.run_once() == 1  # one acknowledgement per ticket, not per mail
    sent = smtp_sink.handler.received[0]
    assert sent["Subject"] == f"Re: [#{ticket.id}] Принтер"
    assert sent["In-Reply-To"] == "<ru1@example.com>"
    assert sent["Auto-Submitted"] == "auto-replied"
    body = sent.get_body(preferencelist=("plain",))
    assert body is not None and f"зарегистрировано под номером #{ticket.id}" in body.get_content()


async def test_auto_replies_and_bounces_get_no_acknowledgement(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    await imap_server.append(
        mail(subject="Out of office", message_id="<oo@example.com>", extra="Auto-Submitted: auto-replied"),
        mail(subject="Newsletter", sender="news@example.com", message_id="<nl@example.com>",
             extra="Precedence: bulk"),
        mail(subject="Undelivered Mail Returned to Sender", sender="MAILER-DAEMON@mx.example.com",
             message_id="<bounce@mx.example.com>"),
        mail(subject="A person", sender="bob@example.com", message_id="<person@example.com>"),
    )
    await _sync_once(make_poller())
    async with sessions() as session:
        tickets = (await session.scalars(select(Ticket).order_by(Ticket.id))).all()
        acks = (await session.scalars(select(OutboxItem).where(OutboxItem.channel == "email"))).all()
        set_aside = (await session.scalars(select(MailQuarantine.reason))).all()
    assert len(tickets) == 3  # kept for the operators to see
    assert set_aside == ["bounce_unmatched"]  # a bounce of no mail of ours: for an admin, not a ticket
    assert [a.payload["to"] for a in acks] == ["bob@example.com"]
