"""A corpus of malformed and unusual mails (tests/mail/corpus/*.eml) goes through the running poller
against pymap: each becomes a ticket message with what could be read, or a quarantine row with the
reason an admin can see; the poller never stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import NotAllowed
from core.mail.poller import MailPoller
from core.mail.quarantine import list_quarantined
from core.models import Attachment, Message, Operator, OutboxItem
from core.services.operators import create_operator
from core.storage import AttachmentStore
from tests.mail.conftest import eventually, mail
from tests.mail.servers import ImapTestServer

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.eml"))
# 17_not_a_mail.eml has no Message-ID: it is known by the stable hash of its bytes.
QUARANTINED = {"<c10@example.com>": "no_sender", "<sha256.": "no_sender", "<c23@example.com>": "too_large",
               "<c13@mx.example.com>": "bounce_unmatched"}


def _short(rfc_id: str) -> str:
    return "<sha256." if rfc_id.startswith("<sha256.") else rfc_id


async def _body(session: AsyncSession, rfc_id: str) -> Message:
    message = await session.scalar(select(Message).where(Message.external_id == rfc_id))
    assert message is not None, rfc_id
    return message


async def _files(session: AsyncSession, message: Message) -> list[Attachment]:
    return list((await session.scalars(select(Attachment).where(Attachment.message_id == message.id)
                                       .order_by(Attachment.id))).all())


async def test_corpus_of_bad_mail_is_ingested_without_stopping_the_poller(
    imap_server: ImapTestServer, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    storage: AttachmentStore, operator: Operator,
) -> None:
    assert len(CORPUS) >= 15
    await imap_server.append(*(path.read_bytes() for path in CORPUS))
    poller = make_poller(max_bytes=100_000)
    task = asyncio.create_task(poller.run())
    try:
        async def corpus_done() -> bool:
            return poller.ingested + poller.quarantined == len(CORPUS)

        await eventually(corpus_done, timeout=30)
        await imap_server.append(mail(subject="After the corpus", body="Still listening", message_id="<z@example.com>"))

        async def still_running() -> bool:
            return poller.ingested + poller.quarantined == len(CORPUS) + 1

        await eventually(still_running)
    finally:
        poller.stop()
        await asyncio.wait_for(task, 10)
    assert poller.quarantined == len(QUARANTINED)

    async with sessions() as session:
        html = await _body(session, "<c04@example.com>")
        assert "My **order** never arrived." in html.body and "<p>" not in html.body
        assert html.meta["email"]["html_only"] is True
        assert (await _body(session, "<c03@example.com>")).body == "Привет, это cp1251"
        assert (await _body(session, "<c16@example.com>")).body == "beforeafter"
        assert (await _body(session, "<c19@example.com>")).body == "very deep text"
        assert "There is no boundary parameter" in (await _body(session, "<c08@example.com>")).body
        assert (await _body(session, "<c05@example.com>")).body == ""
        invite = await _files(session, await _body(session, "<c07@example.com>"))
        assert [(a.file_name, a.content_type) for a in invite] == [("invite.ics", "text/calendar")]
        assert b"BEGIN:VCALENDAR" in await storage.read(invite[0].storage_key or "")
        forwarded = await _files(session, await _body(session, "<c06@example.com>"))
        assert [a.file_name for a in forwarded] == ["forwarded.eml"]
        assert b"The original text." in await storage.read(forwarded[0].storage_key or "")
        tool, screen = await _files(session, await _body(session, "<c12@example.com>"))
        assert tool.file_name == "tool.exe" and tool.storage_key is None and tool.problem
        assert screen.storage_key is not None and "/" not in screen.file_name
        long_mail = await _body(session, "<c22@example.com>")
        full = await _files(session, long_mail)
        assert len(long_mail.body) <= 20_000 and [a.file_name for a in full] == ["message.txt"]
        assert (await storage.read(full[0].storage_key or "")).count(b"log line") == 1000
        no_id = await session.scalar(select(Message).where(Message.body == "This mail has no Message-ID."))
        assert no_id is not None and no_id.external_id and no_id.external_id.startswith("<sha256.")
        acks = (await session.scalars(select(OutboxItem.payload["to"].astext))).all()
        assert not {"mailer-daemon@mx.example.com", "u14@example.com", "list@lists.example.com"} & set(acks)

        admin = await create_operator(session, email="admin@desk.test", password="admin-pass-123", role="admin")
        shown = await list_quarantined(session, admin)
        with pytest.raises(NotAllowed):
            await list_quarantined(session, operator)
    assert {_short(row["message_id"]): row["reason"] for row in shown} == QUARANTINED
    too_large = next(row for row in shown if row["reason"] == "too_large")
    assert too_large["sender"] == "big@example.com" and too_large["subject"] == "Huge scan"
    assert too_large["reason_text"] == "The mail is larger than the configured limit."
    assert all(row["raw_available"] for row in shown if row["reason"] == "no_sender")
    flags = await imap_server.flags()
    assert len(flags) == len(CORPUS) + 1 and all("\\Seen" in f for f in flags.values())
