"""Different mails under one Message-ID (a buggy mailer, a template) each become a ticket message;
a redelivered copy of the same mail, byte for byte or with other trace headers, stays a no-op, also
when the mailbox is read again from the start. Replies to a reused id thread onto the replier's own
ticket."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import MailboxState, MailMessage, Message, Ticket
from tests.mail.conftest import mail
from tests.mail.servers import ImapTestServer
from tests.mail.test_threading import _sync_once

REUSED = "<reused@mailer.example>"


async def _dialogs(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, list[str]]]:
    """(ticket subject, its message bodies) for every ticket, oldest first."""
    async with sessions() as session:
        tickets = (await session.scalars(select(Ticket).order_by(Ticket.id))).all()
        return [(t.subject, list((await session.scalars(
            select(Message.body).where(Message.ticket_id == t.id).order_by(Message.id))).all())) for t in tickets]


async def _read_again_from_the_start(imap_server: ImapTestServer, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():  # as after a UIDVALIDITY change
        await session.execute(delete(MailboxState))
    client = await imap_server.client()
    await client.select("INBOX")
    await client.uid("store", "1:*", "-FLAGS.SILENT (\\Seen)")
    await client.logout()


async def test_different_mails_reusing_a_message_id_each_become_a_ticket_and_copies_do_not(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    printer = mail(subject="Printer", body="It does not print.", message_id=REUSED)
    invoice = mail(subject="Invoice", body="Where is my invoice?", sender="Bob <bob@example.com>", message_id=REUSED)
    relayed = b"Received: from relay.example by mx.desk.test; Mon, 23 Nov 2026 09:01:00 +0000\r\n" + printer
    await imap_server.append(printer, invoice, printer, relayed)
    poller = make_poller()
    await _sync_once(poller)
    expected = [("Printer", ["It does not print."]), ("Invoice", ["Where is my invoice?"])]
    assert await _dialogs(sessions) == expected
    async with sessions() as session:
        invoice_message = await session.scalar(select(Message).where(Message.body == "Where is my invoice?"))
    assert invoice_message is not None
    assert invoice_message.meta["email"]["problems"] == ["Message-ID reused by a different mail"]

    await _read_again_from_the_start(imap_server, sessions)
    await _sync_once(poller)
    assert await _dialogs(sessions) == expected
    flags = await imap_server.flags()
    assert len(flags) == 4 and all("\\Seen" in f for f in flags.values())


async def test_replies_to_a_reused_message_id_reach_each_senders_own_ticket(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    await imap_server.append(
        mail(subject="Printer", body="It does not print.", message_id=REUSED),
        mail(subject="Invoice", body="Where is my invoice?", sender="bob@example.com", message_id=REUSED),
    )
    poller = make_poller()
    await _sync_once(poller)
    await imap_server.append(
        mail(subject="Re: Printer", body="Still broken.", message_id="<r1@example.com>",
             extra=f"In-Reply-To: {REUSED}"),
        mail(subject="Re: Invoice", body="Any news?", sender="bob@example.com", message_id="<r2@example.com>",
             extra=f"In-Reply-To: {REUSED}\nReferences: {REUSED}"),
    )
    await _sync_once(poller)
    assert await _dialogs(sessions) == [("Printer", ["It does not print.", "Still broken."]),
                                        ("Invoice", ["Where is my invoice?", "Any news?"])]


async def test_a_message_id_recorded_before_fingerprints_stays_taken(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    poller = make_poller()
    async with sessions() as session, session.begin():  # a row written before migration 0012
        session.add(MailMessage(mailbox=poller.mailbox, rfc_message_id="<old@example.com>", uid=1))
    await imap_server.append(mail(message_id="<old@example.com>"), mail(body="New one", message_id="<new@x.test>"))
    await _sync_once(poller)
    assert await _dialogs(sessions) == [("Printer is broken", ["New one"])]
