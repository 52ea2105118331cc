"""Plain-text non-delivery mail, as Postfix, Exim, Gmail, Exchange and Yandex (in Russian) send it,
is a bounce too: the returned reply (named in the quoted headers, an attached copy or In-Reply-To)
is marked failed with the server's SMTP answer, and nothing is opened or answered. A bounce of a mail
we did not send goes to quarantine; a person who writes about a failed delivery still gets a ticket."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.parse import parse_mail
from core.mail.poller import MailPoller
from core.models import ContactIdentity, MailQuarantine, Operator, OutboxItem, Ticket
from core.outbox import OutboxWorker
from tests.mail.conftest import mail
from tests.mail.servers import ImapTestServer, SmtpSink
from tests.mail.test_bounces import aftermath, sent_reply
from tests.mail.test_threading import _sync_once

SAMPLES = Path(__file__).parent / "bounces"
RETURNED = b"<returned-reply@desk.test>"  # the samples' stand-in for the Message-ID of our reply
REASONS = {
    "postfix.eml": "550 5.1.1 <alice@example.com>: Recipient address rejected: User unknown in local recipient "
                   "table (in reply to RCPT TO command)",
    "exim.eml": "550 5.1.1 <alice@example.com>: Recipient address rejected: User unknown",
    "gmail.eml": "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking "
                 "the recipient's email address for typos or unnecessary spaces.",
    "exchange.eml": "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    "yandex_ru.eml": "550 5.7.1 Mailbox unavailable or access denied",
}


def sample(name: str, returned_id: str | None = None) -> bytes:
    raw = (SAMPLES / name).read_bytes()
    return raw.replace(RETURNED, returned_id.encode()) if returned_id else raw


def test_each_sample_names_the_returned_reply_and_the_servers_answer() -> None:
    for name, reason in REASONS.items():
        report = parse_mail(sample(name, "<desk.m7.t3@desk.test>")).report
        assert report is not None and report.kind == "text", name
        assert report.original_ids[0] == "<desk.m7.t3@desk.test>", name
        assert report.status == reason, name


def test_people_and_delay_warnings_are_not_bounces() -> None:
    forwarded = parse_mail(sample("person_forwards_a_bounce.eml", "<desk.m7.t3@desk.test>"))
    delivery_failed = parse_mail(mail(subject="My delivery failed", body="550 5.1.1 the courier lost it",
                                      extra="In-Reply-To: <desk.m7.t3@desk.test>"))
    delayed = parse_mail(mail(subject="Warning: message 1tGb3B-0004Xs-1f delayed 24 hours",
                              sender="Mail Delivery System <Mailer-Daemon@relay.desk.test>",
                              body="451 4.4.1 mx.example.com: retrying\n\nMessage-ID: <desk.m7.t3@desk.test>"))
    chatty_daemon = parse_mail(mail(subject="Your mailbox settings", sender="postmaster@example.com",
                                    body="Hello, please update your address book."))
    assert [m.report for m in (forwarded, delivery_failed, delayed, chatty_daemon)] == [None] * 4


@pytest.mark.parametrize("name", sorted(REASONS))
async def test_a_plain_text_bounce_marks_the_returned_reply_failed_and_opens_nothing(
    name: str, imap_server: ImapTestServer, make_poller: Callable[..., MailPoller],
    sessions: async_sessionmaker[AsyncSession], smtp_sink: SmtpSink, outbox_worker: OutboxWorker,
    operator: Operator,
) -> None:
    poller = make_poller(acknowledge=False)
    ticket, reply, sent_id = await sent_reply(imap_server, poller, sessions, smtp_sink, outbox_worker, operator)

    await imap_server.append(sample(name, sent_id))
    await _sync_once(poller)
    after = await aftermath(sessions, ticket, reply)
    assert after.tickets == 1 and after.queued == 1 and after.quarantined == 0
    assert after.reply is not None and after.reply.delivery_state == "failed"
    assert after.reply.delivery_error == f"bounced: {REASONS[name]}"
    assert after.lines == [("bounced", REASONS[name])]


async def test_bounces_of_mail_we_did_not_send_are_quarantined_but_a_person_gets_a_ticket(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    await imap_server.append(*(sample(name) for name in sorted(REASONS)), sample("person_forwards_a_bounce.eml"))
    await _sync_once(make_poller(acknowledge=True))
    async with sessions() as session:
        owners = (await session.scalars(select(ContactIdentity.external_id)
                                        .join(Ticket, Ticket.identity_id == ContactIdentity.id))).all()
        acks = (await session.scalars(select(OutboxItem.payload["to"].astext))).all()
        kept = (await session.execute(select(MailQuarantine.sender, MailQuarantine.reason, MailQuarantine.detail)
                                      .order_by(MailQuarantine.uid))).all()
    assert owners == ["bob@example.net"] and acks == ["bob@example.net"]
    assert [(sender, reason) for sender, reason, _ in kept] == [
        ("postmaster@mail.example.org", "bounce_unmatched"), ("mailer-daemon@relay.desk.test", "bounce_unmatched"),
        ("mailer-daemon@googlemail.com", "bounce_unmatched"), ("mailer-daemon@mx.desk.test", "bounce_unmatched"),
        ("mailer-daemon@yandex.ru", "bounce_unmatched")]
    assert all("<returned-reply@desk.test>" in detail for _, _, detail in kept)
    assert REASONS["exim.eml"] in kept[1][2]
