"""A bounce of a mail we sent does not open a ticket: the returned reply is marked failed with the
report's reason (the panel shows it beside Retry), the ticket gets a line saying so, nobody is answered.
A bounce of a mail we did not send opens nothing either: an admin finds it in quarantine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.parse import parse_mail
from core.mail.poller import MailPoller
from core.models import Event, MailQuarantine, Message, Operator, OutboxItem, Ticket
from core.outbox import OutboxWorker
from core.services import conversations
from tests.mail.conftest import mail
from tests.mail.servers import ImapTestServer, SmtpSink
from tests.mail.test_threading import _sync_once


def bounce(original_id: str, *, attach: str, message_id: str = "<bounce1@mx.example.com>") -> bytes:
    returned = (f"From: Desk Support <support@desk.test>\r\nTo: alice@example.com\r\nMessage-ID: {original_id}\r\n"
                "Subject: Re: [#1] Printer is broken\r\n")
    copy = ("Content-Type: text/rfc822-headers\r\n\r\n" + returned if attach == "headers"
            else "Content-Type: message/rfc822\r\n\r\n" + returned + "\r\nPlease try the steps.\r\n")
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: support@desk.test\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {message_id}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        "--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; alice@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        f"--R\r\n{copy}--R--\r\n"
    ).encode()


async def sent_reply(
    imap_server: ImapTestServer, poller: MailPoller, sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink, outbox_worker: OutboxWorker, operator: Operator,
) -> tuple[Ticket, Message, str]:
    """Alice writes, an operator answers, the answer leaves: (her ticket, the reply, its Message-ID)."""
    await imap_server.append(mail(message_id="<b1@example.com>"))
    await _sync_once(poller)
    async with sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket))
        assert ticket is not None
        reply = await conversations.operator_replied(session, ticket_id=ticket.id, operator=operator,
                                                     body="Please try the steps.")
    assert await outbox_worker.run_once() == 1
    return ticket, reply, str(smtp_sink.handler.received[-1]["Message-ID"])


@dataclass
class Aftermath:
    """What a returned mail left behind: tickets in all, the reply now, the system lines on its
    ticket as (line, reason), outbox rows and quarantined mails in all."""

    tickets: int
    reply: Message | None
    lines: list[tuple[str, str]]
    queued: int
    quarantined: int


async def aftermath(sessions: async_sessionmaker[AsyncSession], ticket: Ticket, reply: Message) -> Aftermath:
    async with sessions() as session:
        lines = (await session.scalars(select(Message).where(Message.ticket_id == ticket.id,
                                                             Message.author_kind == "system"))).all()
        return Aftermath(
            tickets=int(await session.scalar(select(func.count()).select_from(Ticket)) or 0),
            reply=await session.get(Message, reply.id),
            lines=[(line.meta["line"], line.meta["params"]["reason"]) for line in lines],
            queued=int(await session.scalar(select(func.count()).select_from(OutboxItem)) or 0),
            quarantined=int(await session.scalar(select(func.count()).select_from(MailQuarantine)) or 0),
        )


def test_the_report_names_the_returned_mail_and_the_reason() -> None:
    for attach in ("headers", "copy"):
        parsed = parse_mail(bounce("<desk.m7.t3@desk.test>", attach=attach))
        assert parsed.auto and parsed.report is not None
        assert parsed.report.original_ids == ["<desk.m7.t3@desk.test>"]
        assert parsed.report.status == "5.1.1 alice@example.com smtp; 550 5.1.1 user unknown"
    assert parse_mail(mail()).report is None


@pytest.mark.parametrize("attach", ["headers", "copy"])
async def test_a_bounced_reply_is_marked_failed_on_its_ticket_and_opens_nothing(
    attach: str, imap_server: ImapTestServer, make_poller: Callable[..., MailPoller],
    sessions: async_sessionmaker[AsyncSession], smtp_sink: SmtpSink, outbox_worker: OutboxWorker,
    operator: Operator,
) -> None:
    poller = make_poller(acknowledge=False)
    ticket, reply, sent_id = await sent_reply(imap_server, poller, sessions, smtp_sink, outbox_worker, operator)

    await imap_server.append(bounce(sent_id, attach=attach))
    await _sync_once(poller)
    after = await aftermath(sessions, ticket, reply)
    async with sessions() as session:
        updated = (await session.scalars(select(Event.data).where(Event.type == "message.updated"))).all()
    assert after.tickets == 1 and after.queued == 1  # no new ticket, nobody answered
    assert after.reply is not None and after.reply.delivery_state == "failed"
    assert after.reply.delivery_error == "bounced: 5.1.1 alice@example.com smtp; 550 5.1.1 user unknown"
    assert after.lines == [("bounced", "5.1.1 alice@example.com smtp; 550 5.1.1 user unknown")]
    assert any(data["id"] == reply.id and data["delivery_state"] == "failed" for data in updated)
    assert all("\\Seen" in flags for flags in (await imap_server.flags()).values())


async def test_a_bounce_of_someone_elses_mail_is_quarantined_and_never_answered(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    await imap_server.append(bounce("<not-ours@elsewhere.example>", attach="headers"))
    await _sync_once(make_poller(acknowledge=True))
    async with sessions() as session:
        tickets = int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)
        acks = int(await session.scalar(select(func.count()).select_from(OutboxItem)) or 0)
        kept = (await session.execute(select(MailQuarantine.reason, MailQuarantine.detail))).all()
    assert tickets == 0 and acks == 0
    assert [reason for reason, _ in kept] == ["bounce_unmatched"]
    assert "<not-ours@elsewhere.example>" in kept[0][1] and "550 5.1.1 user unknown" in kept[0][1]


def delay(original_id: str, message_id: str = "<delay1@mx.example.com>") -> bytes:
    return (bounce(original_id, attach="headers", message_id=message_id)
            .replace(b"Action: failed\r\nStatus: 5.1.1", b"Action: delayed\r\nStatus: 4.4.7")
            .replace(b"550 5.1.1 user unknown", b"451 4.4.7 mx.example.com: connection timed out")
            .replace(b"Undelivered Mail Returned to Sender", b"Delayed Mail (still being retried)"))


def test_a_delay_warning_is_not_a_bounce_but_a_notice() -> None:
    parsed = parse_mail(delay("<desk.m7.t3@desk.test>"))
    assert parsed.report is None
    assert parsed.notice is not None and parsed.notice.delayed
    assert parsed.notice.original_ids == ["<desk.m7.t3@desk.test>"]
    text = parse_mail(mail(subject="Warning: message 1tGb3B-0004Xs-1f delayed 24 hours",
                           sender="Mail Delivery System <Mailer-Daemon@relay.desk.test>",
                           body="451 4.4.1 mx.example.com: retrying\n\nMessage-ID: <desk.m7.t3@desk.test>"))
    assert text.report is None and text.notice is not None
    assert (text.notice.delayed, text.notice.original_ids, text.notice.status) == (
        True, ["<desk.m7.t3@desk.test>"], "451 4.4.1 mx.example.com: retrying")
    assert parse_mail(mail(subject="Warning: my parcel is delayed")).notice is None  # a customer


async def test_a_delayed_reply_gets_a_line_on_its_ticket_and_nothing_else(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink, outbox_worker: OutboxWorker, operator: Operator,
) -> None:
    poller = make_poller(acknowledge=False)
    ticket, reply, sent_id = await sent_reply(imap_server, poller, sessions, smtp_sink, outbox_worker, operator)
    await imap_server.append(delay(sent_id), delay("<not-ours@elsewhere.example>", "<delay2@mx.example.com>"))
    await _sync_once(poller)
    after = await aftermath(sessions, ticket, reply)
    assert after.tickets == 1 and after.quarantined == 0  # neither notice opens a ticket or waits in quarantine
    assert after.queued == 1  # the reply; the notices are answered by nobody
    assert after.reply is not None and after.reply.delivery_state == "sent"  # the server is still trying
    assert after.lines == [
        ("delivery_delayed", "4.4.7 alice@example.com smtp; 451 4.4.7 mx.example.com: connection timed out")]
    assert all("\\Seen" in flags for flags in (await imap_server.flags()).values())


def test_a_read_receipt_is_not_a_bounce() -> None:
    receipt = (
        b"From: Alice <alice@example.com>\r\nTo: support@desk.test\r\nSubject: Read: Re: [#1] Printer is broken\r\n"
        b"Message-ID: <mdn1@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="R"\r\n\r\n'
        b"--R\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n"
        b"--R\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; alice@example.com\r\nOriginal-Message-ID: <desk.m7.t3@desk.test>\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n"
        b"--R\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <desk.m7.t3@desk.test>\r\n--R--\r\n"
    )
    assert parse_mail(receipt).report is None
