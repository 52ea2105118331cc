"""An admin tries a quarantined mail again once its cause is fixed: intake runs on the bytes as
received, in one transaction. A mail that goes in becomes a ticket message and its row is marked
resolved (who, when, which ticket; the attempt in the audit log); one that still cannot stays with
the new reason, and its Message-ID stays claimed so the poller never takes it twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import Conflict, NotAllowed, NotFound
from core.i18n import load_translator
from core.mail.intake import IntakeOptions
from core.mail.poller import MailPoller
from core.mail.quarantine import Setaside, list_quarantined, quarantine
from core.mail.retry import Intake, retry_quarantined
from core.models import AuditLog, Event, MailMessage, MailQuarantine, Message, Operator, Ticket
from core.services.operators import create_operator
from core.storage import AttachmentStore
from tests.mail.conftest import mail
from tests.mail.servers import ImapTestServer
from tests.mail.test_threading import _sync_once

CORPUS = Path(__file__).parent / "corpus"
MISCONFIGURED = frozenset({"support@desk.test", "alice@example.com"})  # a colleague's address set as the desk's


def fixed(options: IntakeOptions, mailbox: str) -> IntakeOptions:
    return replace(options, mailbox=mailbox, own_addresses=frozenset({"support@desk.test"}))


async def quarantined_by_the_poller(poller: MailPoller, imap_server: ImapTestServer, *raw: bytes) -> None:
    poller.options = replace(poller.options, own_addresses=MISCONFIGURED)
    await imap_server.append(*raw)
    await _sync_once(poller)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[MailQuarantine]:
    async with sessions() as session:
        return list((await session.scalars(select(MailQuarantine).order_by(MailQuarantine.id))).all())


@pytest.fixture
async def admin(sessions: async_sessionmaker[AsyncSession]) -> Operator:
    async with sessions() as session, session.begin():
        return await create_operator(session, email="root@desk.test", password="admin-pass-123", role="admin")


async def test_a_mail_whose_cause_was_fixed_goes_in_and_its_row_is_resolved(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    storage: AttachmentStore, admin: Operator,
) -> None:
    poller = make_poller(acknowledge=False)
    await quarantined_by_the_poller(poller, imap_server, mail(message_id="<q1@example.com>"))
    [row] = await rows(sessions)
    assert row.reason == "own_address"
    intake = Intake(storage, load_translator(), partial(fixed, poller.options))

    async with sessions() as session, session.begin():
        outcome = await retry_quarantined(session, admin, row.id, intake)
    assert outcome.resolved and outcome.outcome == "created" and outcome.ticket_id and outcome.message_id
    async with sessions() as session:
        message = await session.get(Message, outcome.message_id)
        ticket = await session.get(Ticket, outcome.ticket_id)
        claim = await session.scalar(select(MailMessage).where(MailMessage.rfc_message_id == "<q1@example.com>"))
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "mail.quarantine_retried"))).all()
        retried = (await session.scalars(select(Event.data).where(Event.type == "mail.retried"))).all()
        listed = await list_quarantined(session, admin)
    [resolved] = await rows(sessions)
    assert message is not None and message.body == "It does not print." and message.ticket_id == outcome.ticket_id
    assert ticket is not None and ticket.subject == "Printer is broken"
    assert claim is not None and claim.ticket_id == ticket.id and claim.desk_message_id == message.id
    assert resolved.resolved_at is not None and resolved.resolved_by_id == admin.id
    assert resolved.ticket_id == ticket.id and resolved.retries == 1 and resolved.reason == "own_address"
    assert [(a.actor_id, a.object_id, a.data["outcome"]) for a in audit] == [(admin.id, row.id, "created")]
    assert [(d["id"], d["resolved"], d["outcome"], d["ticket_id"]) for d in retried] == [
        (row.id, True, "created", ticket.id)]
    assert listed == []  # kept for the record, no longer waiting

    async with sessions() as session, session.begin():
        with pytest.raises(NotFound):
            await retry_quarantined(session, admin, row.id, intake)
    await imap_server.append(mail(message_id="<q1@example.com>", body="the same mail again"))
    await _sync_once(poller)
    async with sessions() as session:
        assert len((await session.scalars(select(Message))).all()) == 1  # its Message-ID is taken


async def test_a_retry_that_still_fails_keeps_the_row_with_the_new_reason(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    storage: AttachmentStore, admin: Operator,
) -> None:
    raw = (CORPUS / "10_no_sender.eml").read_bytes()
    stored = await storage.save(raw, "mail-1.eml", "message/rfc822")
    poller = make_poller(acknowledge=False)
    async with sessions() as session, session.begin():  # set aside during an outage, as the poller does
        session.add(MailMessage(mailbox=poller.mailbox, rfc_message_id="<c10@example.com>", uid=1))
        row = await quarantine(session, Setaside(
            mailbox=poller.mailbox, uid=1, uidvalidity=1, reason="error", detail="OperationalError: connection lost",
            rfc_message_id="<c10@example.com>", subject="Nobody sent this", size=len(raw),
            raw_storage_key=stored.storage_key))
    intake = Intake(storage, load_translator(), partial(fixed, poller.options))

    for attempt in (1, 2):
        async with sessions() as session, session.begin():
            outcome = await retry_quarantined(session, admin, row.id, intake)
        assert not outcome.resolved and outcome.outcome == "quarantined" and outcome.ticket_id is None
        assert outcome.reason == "no_sender" and "From" in outcome.detail
        [kept] = await rows(sessions)
        assert kept.reason == "no_sender" and kept.retries == attempt and kept.resolved_at is None
    async with sessions() as session:
        claims = (await session.scalars(select(MailMessage.rfc_message_id))).all()
        tickets = (await session.scalars(select(Ticket))).all()
        listed = await list_quarantined(session, admin)
    assert claims == ["<c10@example.com>"] and tickets == []
    assert [(item["id"], item["reason"], item["retries"], item["resolved"]) for item in listed] == [
        (row.id, "no_sender", 2, False)]


async def test_only_admins_retry_and_only_mail_whose_bytes_were_kept(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    storage: AttachmentStore, admin: Operator, operator: Operator,
) -> None:
    poller = make_poller(acknowledge=False, max_bytes=100_000)
    await quarantined_by_the_poller(poller, imap_server, mail(message_id="<q2@example.com>"),
                                    (CORPUS / "23_too_large.eml").read_bytes())
    own, too_large = await rows(sessions)
    intake = Intake(storage, load_translator(), partial(fixed, poller.options))
    async with sessions() as session, session.begin():
        with pytest.raises(NotAllowed):
            await retry_quarantined(session, operator, own.id, intake)
        with pytest.raises(Conflict):
            await retry_quarantined(session, admin, too_large.id, intake)
        with pytest.raises(NotFound):
            await retry_quarantined(session, admin, too_large.id + 1000, intake)
    assert [(r.reason, r.retries) for r in await rows(sessions)] == [("own_address", 0), ("too_large", 0)]
