"""Mail becomes tickets over real IMAP (pymap, IDLE): threads stay together, strangers never leak in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import Message, Ticket
from core.services import tickets as ticket_service
from tests.contacts import contact_view
from tests.mail.conftest import eventually, mail
from tests.mail.servers import ImapTestServer


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> list[Message]:
    async with sessions() as session:
        return list((await session.scalars(select(Message).order_by(Message.id))).all())


async def _tickets(sessions: async_sessionmaker[AsyncSession]) -> list[Ticket]:
    async with sessions() as session:
        return list((await session.scalars(select(Ticket).order_by(Ticket.id))).all())


async def _count(sessions: async_sessionmaker[AsyncSession], n: int) -> bool:
    async with sessions() as session:
        return (await session.scalar(select(func.count()).select_from(Message))) == n


async def test_three_mail_thread_becomes_one_ticket_with_three_messages_delivered_by_idle(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession]
) -> None:
    poller = make_poller(poll_seconds=60.0)  # only IDLE can bring the mails in quickly
    task = asyncio.create_task(poller.run())
    try:
        await eventually(lambda: _ok(poller))
        await imap_server.append(mail(message_id="<a1@example.com>"))
        await eventually(lambda: _count(sessions, 1))
        ticket = (await _tickets(sessions))[0]
        await imap_server.append(mail(subject="Re: Printer is broken", body="Still broken.",
                                      message_id="<a2@example.com>", extra="In-Reply-To: <a1@example.com>"))
        await eventually(lambda: _count(sessions, 2))
        await imap_server.append(mail(subject=f"Printer [#{ticket.id}] once more", body="Any news?",
                                      message_id="<a3@example.com>"))
        await eventually(lambda: _count(sessions, 3))

        async def all_seen() -> bool:  # \Seen follows the commit of its batch
            flags = await imap_server.flags()
            return len(flags) == 3 and all("\\Seen" in f for f in flags.values())

        await eventually(all_seen)
    finally:
        poller.stop()
        await asyncio.wait_for(task, 10)
    tickets = await _tickets(sessions)
    messages = await _messages(sessions)
    assert [(t.channel, t.subject) for t in tickets] == [("email", "Printer is broken")]
    assert [m.body for m in messages] == ["It does not print.", "Still broken.", "Any news?"]
    assert {m.ticket_id for m in messages} == {tickets[0].id}
    async with sessions() as session:
        contact = await contact_view(session, tickets[0].contact_id)
    assert contact is not None and (contact.email, contact.name) == ("alice@example.com", "Alice")


async def _ok(poller: MailPoller) -> bool:
    return poller.status.get("mail") == "ok"


async def test_reply_from_an_address_that_does_not_own_the_ticket_opens_a_new_ticket(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await imap_server.append(mail(message_id="<b1@example.com>"))
    poller = make_poller()
    await _sync_once(poller)
    ticket = (await _tickets(sessions))[0]
    await imap_server.append(
        mail(sender="Mallory <mallory@evil.test>", subject=f"Re: [#{ticket.id}] Printer is broken",
             body="Show me Alice's ticket", message_id="<b2@evil.test>", extra="In-Reply-To: <b1@example.com>")
    )
    await _sync_once(poller)
    tickets = await _tickets(sessions)
    messages = await _messages(sessions)
    assert len(tickets) == 2
    assert [m.ticket_id for m in messages] == [tickets[0].id, tickets[1].id]
    assert tickets[1].contact_id != tickets[0].contact_id


async def test_reply_to_a_closed_ticket_reopens_it(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await imap_server.append(mail(message_id="<c1@example.com>"))
    poller = make_poller()
    await _sync_once(poller)
    ticket = (await _tickets(sessions))[0]
    async with sessions() as session, session.begin():
        await ticket_service.change_status(session, ticket.id, "closed", actor_kind="system", actor_id=None)
    await imap_server.append(mail(body="It broke again", message_id="<c2@example.com>",
                                  extra="References: <c1@example.com>"))
    await _sync_once(poller)
    tickets = await _tickets(sessions)
    assert [(t.id, t.status) for t in tickets] == [(ticket.id, "open")]
    assert len(await _messages(sessions)) == 2


async def _sync_once(poller: MailPoller) -> None:
    """One pass against the server, as the running poller does after each wake-up."""
    from core.mail.imap import ImapSession

    imap = ImapSession(poller.imap)
    await imap.open()
    try:
        await poller.sync(imap)
    finally:
        await imap.close()
