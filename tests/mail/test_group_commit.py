"""Group commits over real IMAP (pymap) and PostgreSQL: a fetched batch goes in as one transaction,
each mail in a savepoint of its own, so poison mails among good ones are set aside alone (their
half-written rows rolled back), the others are stored once, and the position and \\Seen follow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import Contact, MailboxState, MailMessage, MailQuarantine, Message, Ticket
from tests.mail.conftest import mail
from tests.mail.servers import ImapTestServer
from tests.mail.test_threading import _sync_once

GOOD = 10


@pytest.fixture
async def poison_trigger(engine: AsyncEngine) -> AsyncIterator[None]:
    """PostgreSQL refuses any message whose body says POISON: a database error in the middle of one
    mail's writes (after its Message-ID claim, contact and ticket), as a constraint or a bad value would
    raise. Dropped afterwards (the test database is shared by the session)."""
    async with engine.begin() as conn:
        await conn.execute(text(
            "CREATE FUNCTION test_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.body LIKE '%POISON%' THEN RAISE EXCEPTION 'poison message refused'; END IF; "
            "RETURN NEW; END $$"))
        await conn.execute(text("CREATE TRIGGER test_refuse_poison BEFORE INSERT ON message "
                                "FOR EACH ROW EXECUTE FUNCTION test_refuse_poison()"))
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER IF EXISTS test_refuse_poison ON message"))
            await conn.execute(text("DROP FUNCTION IF EXISTS test_refuse_poison()"))


def _good(i: int) -> bytes:
    return mail(subject=f"Good {i}", body=f"Body {i}", sender=f"Good {i} <good{i}@example.com>",
                message_id=f"<good{i}@example.com>")


async def test_poison_mails_in_a_batch_are_set_aside_alone_and_the_rest_commit_once(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    poison_trigger: None,
) -> None:
    mails = [_good(i) for i in range(GOOD)]
    # One the database refuses mid-way, one intake refuses (our own address), among the good ones.
    mails.insert(3, mail(subject="Poison", body="POISON inside", sender="Mallory <mallory@example.com>",
                         message_id="<poison@example.com>"))
    mails.insert(7, mail(subject="Echo", body="From ourselves", sender="support@desk.test",
                         message_id="<echo@example.com>"))
    await imap_server.append(*mails)
    poller = make_poller(batch=25, group_seconds=60)  # no time bound: a slow machine still makes one group

    await _sync_once(poller)

    async with sessions() as session:
        tickets = (await session.execute(
            select(Ticket.subject, func.count(Message.id)).join(Message, Message.ticket_id == Ticket.id)
            .group_by(Ticket.subject))).all()
        quarantined = (await session.execute(
            select(MailQuarantine.rfc_message_id, MailQuarantine.reason, MailQuarantine.raw_storage_key)
            .order_by(MailQuarantine.uid))).all()
        poisoned_contacts = await session.scalar(select(func.count()).select_from(Contact).where(
            Contact.name == "Mallory"))
        claims = (await session.execute(select(MailMessage.rfc_message_id, MailMessage.ticket_id))).all()
        # now() is the transaction's start: one value for the rows of one transaction, savepoints or not
        transactions = await session.scalar(text("SELECT count(DISTINCT created_at) FROM mail_message"))
        position = await session.get(MailboxState, poller.mailbox)
    assert sorted(tickets) == sorted((f"Good {i}", 1) for i in range(GOOD))
    assert [(rfc_id, reason) for rfc_id, reason, _ in quarantined] == [
        ("<poison@example.com>", "error"), ("<echo@example.com>", "own_address")]
    assert all(key is not None for _, _, key in quarantined)  # the raw mail kept for a retry
    assert poisoned_contacts == 0  # the refused mail's contact and ticket were rolled back with it
    assert sorted(rfc_id for rfc_id, _ in claims) == sorted(
        [f"<good{i}@example.com>" for i in range(GOOD)] + ["<poison@example.com>", "<echo@example.com>"])
    assert sum(1 for _, ticket_id in claims if ticket_id is None) == 2
    assert transactions == 1  # the whole batch, set-aside mails included, in one commit
    assert (poller.ingested, poller.quarantined) == (GOOD, 2)
    flags = await imap_server.flags()
    assert len(flags) == GOOD + 2 and all("\\Seen" in f for f in flags.values())
    assert position is not None and position.last_uid == max(flags)

    await _sync_once(poller)  # a second pass over the same mailbox adds nothing
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == GOOD
        assert await session.scalar(select(func.count()).select_from(MailQuarantine)) == 2


async def test_a_batch_is_split_into_transactions_by_size(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    """`group_bytes` bounds a transaction: six mails of ~3 KB with a 7 KB bound make three groups of two,
    each committed with its own position; every mail still stored once."""
    bodies = [mail(subject=f"Long {i}", body=f"Body {i} " + "x" * 3000, sender=f"long{i}@example.com",
                   message_id=f"<long{i}@example.com>") for i in range(6)]
    await imap_server.append(*bodies)
    poller = make_poller(batch=25, group_bytes=7000, group_seconds=60)

    await _sync_once(poller)

    async with sessions() as session:
        groups = (await session.execute(text(
            "SELECT created_at, count(*) FROM mail_message GROUP BY 1 ORDER BY min(uid)"))).all()
        messages = await session.scalar(select(func.count()).select_from(Message))
        position = await session.get(MailboxState, poller.mailbox)
    assert [count for _, count in groups] == [2, 2, 2]
    assert messages == 6
    assert position is not None and position.last_uid == max(await imap_server.flags())


async def test_a_group_ends_once_its_transaction_has_run_group_seconds(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A transaction that has written holds back the desk's live events until it ends, so a group is also
    bounded in time: with `group_seconds` 0 every mail is a transaction of its own, each with its position,
    and a second pass adds nothing."""
    await imap_server.append(*(_good(i) for i in range(4)))
    poller = make_poller(batch=25, group_seconds=0)

    await _sync_once(poller)

    async with sessions() as session:
        groups = (await session.execute(text(
            "SELECT created_at, count(*) FROM mail_message GROUP BY 1 ORDER BY min(uid)"))).all()
        position = await session.get(MailboxState, poller.mailbox)
    assert [count for _, count in groups] == [1, 1, 1, 1]
    assert position is not None and position.last_uid == max(await imap_server.flags())
    await _sync_once(poller)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 4
