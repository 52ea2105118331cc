"""The website chat's e-mail fallback through its real interfaces: the visitor's WebSocket, the panel's
HTTP API, the outbox worker with the real e-mail channel (an aiosmtpd sink) and the mail poller on a
real IMAP server (pymap). Nobody online or outside hours: the widget is told so and may leave an
address; a reply the widget has not shown by the end of the grace period goes there by mail, and the
visitor's mailed answer comes back into the same chat ticket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.kb.transfer import import_articles, read_articles
from core.mail.runtime import build_mail
from core.models import ContactIdentity, Message, Operator, OutboxItem, Ticket
from core.outbox import OutboxWorker
from core.services.conversations import record_delivery
from core.services.presence import touch_presence
from core.sla.hours import clear_hours, set_holidays, set_hours
from tests.mail.conftest import imap_server, mail, smtp_sink  # noqa: F401  (fixtures)
from tests.mail.servers import PASSWORD, USER, ImapTestServer, SmtpSink
from tests.web.harness import Panel, eventually, receive_until, start_panel
from tests.web.test_ticket_api import signed_in
from tests.web.test_widget import KB_SEED, Visitor, answers, button, shop_widget, visiting

GRACE = 0.5
ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
async def mail_panel(database_url: str, tmp_path: Path, smtp_sink: SmtpSink,  # noqa: F811
                     imap_server: ImapTestServer) -> AsyncIterator[Panel]:  # noqa: F811
    running = await start_panel(database_url, tmp_path, settings_overrides={
        "widget_enabled": True, "widget_email_after_seconds": GRACE,
        "smtp_host": "127.0.0.1", "smtp_port": smtp_sink.port, "smtp_security": "plain",
        "smtp_from": "Desk Support <support@desk.test>", "smtp_timeout_seconds": 5,
        "imap_host": "127.0.0.1", "imap_port": imap_server.port, "imap_user": USER, "imap_password": PASSWORD,
        "imap_security": "plain"})
    async with running.desk.sessions() as session, session.begin():
        await import_articles(session, read_articles(KB_SEED))
    yield running
    await running.close()


def worker_of(panel: Panel) -> OutboxWorker:
    return OutboxWorker(panel.desk.sessions, panel.desk.channels.deliverers(), on_outcome=[record_delivery])


async def handoff_frames(visitor: Visitor) -> tuple[int, list[dict]]:
    """The visitor asks, the article does not help, they pick a topic: the ticket and the last frames."""
    await visitor.start()
    article = answers(await visitor.say("how do I reset my password?"))
    frames = await visitor.press(button(await visitor.press(button(article, "Talk to a human")), "Technical support"))
    _, ticket_id = button(answers(frames), "Close the ticket")["action"]
    return int(ticket_id), frames


def availability(frames: list[dict]) -> dict:
    [found] = [f for f in frames if f.get("type") == "availability"]
    return found


async def queue_of(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(Ticket.queue_id).where(Ticket.id == ticket_id)) or 0)


async def reply_email(sessions: async_sessionmaker[AsyncSession], visitor: str) -> str | None:
    async with sessions() as session:
        return await session.scalar(select(ContactIdentity.given_email).where(ContactIdentity.channel == "web",
                                                                                ContactIdentity.external_id == visitor))


async def test_the_widget_hears_whether_a_human_answers_now(mail_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(mail_panel, key) as anna:
        await anna.connect()
        ticket_id, frames = await handoff_frames(anna)
        told = availability(frames)  # nobody has the panel open
        assert told == {"type": "availability", "ticket_id": ticket_id, "available": False, "reason": "offline",
                        "email_offer": True, "reply_email": None}
        await anna.ws.close()

        operator, _ = await signed_in(mail_panel, sessions, "olga@example.com")
        async with sessions() as session, session.begin():
            olga_id = await session.scalar(select(Operator.id).where(Operator.email == "olga@example.com"))
            await touch_presence(session, int(olga_id or 0))
        told = availability(await anna.connect())  # online, and a queue without hours always works
        assert (told["available"], told["reason"]) == (True, None)
        await anna.ws.close()

        queue_id = await queue_of(sessions, ticket_id)
        async with sessions() as session, session.begin():
            await set_hours(session, queue_id, time_zone="UTC", weekly=ALL_DAY, actor_id=None)
            await set_holidays(session, queue_id, [(datetime.now(UTC).date(), "Today off")], actor_id=None)
        told = availability(await anna.connect())  # an operator online, but outside the queue's hours
        assert (told["available"], told["reason"]) == (False, "hours")
        await anna.ws.close()

        async with sessions() as session, session.begin():
            await set_holidays(session, queue_id, [], actor_id=None)
        told = availability(await anna.connect())  # within the hours and online
        assert (told["available"], told["reason"]) == (True, None)
        async with sessions() as session, session.begin():
            await clear_hours(session, queue_id, actor_id=None)
    await operator.close()


async def test_the_reply_email_is_checked_stored_once_and_shown_to_operators(mail_panel: Panel, sessions) -> None:
    _, key = await shop_widget(sessions)
    async with visiting(mail_panel, key) as anna, visiting(mail_panel, key, language="ru") as boris:
        hello, *_ = await anna.connect()
        ticket_id, _ = await handoff_frames(anna)
        for bad in ("not-an-address", "anna@localhost", "Anna <anna@example.com>", "a" * 250 + "@example.com"):
            await anna.ws.send_json({"type": "email", "client_id": "e-bad", "email": bad})
            [*_, error] = await receive_until(anna.ws, lambda f: f.get("type") == "error")
            assert error["code"] == "bad_email" and error["client_id"] == "e-bad" and error["retry"] is False
            assert error["text"].startswith("That does not look like an e-mail address")
        assert await reply_email(sessions, hello["visitor"]) is None  # nothing stored

        frames = await anna.send({"type": "email", "client_id": "e1", "email": " Anna.Smith@Example.COM "})
        assert frames[0] == {"type": "ack", "client_id": "e1"}
        assert frames[1] == {"type": "email_saved", "email": "anna.smith@example.com"}
        assert availability(frames)["reply_email"] == "anna.smith@example.com"
        again = await anna.send({"type": "email", "client_id": "e1", "email": "someone@else.example"})  # a resend
        assert again[:2] == frames[:2]
        assert await reply_email(sessions, hello["visitor"]) == "anna.smith@example.com"
        await anna.send({"type": "message", "client_id": "m-after", "text": "and one more thing"})
        await anna.ws.close()
        await anna.connect()  # the next hello keeps the address
        assert await reply_email(sessions, hello["visitor"]) == "anna.smith@example.com"

        operator, _ = await signed_in(mail_panel, sessions, "olga@example.com")
        async with operator.get(mail_panel.url(f"/api/tickets/{ticket_id}")) as r:
            contact_id = (await r.json())["contact_id"]
        async with operator.get(mail_panel.url(f"/api/contacts/{contact_id}")) as r:
            contact = await r.json()
        assert [i["given_email"] for i in contact["identities"]] == ["anna.smith@example.com"]
        assert [i["channel"] for i in contact["identities"]] == ["web"]  # no e-mail identity from it

        await boris.connect()
        await boris.ws.send_json({"type": "email", "client_id": "e-ru", "email": "boris@"})
        [*_, error] = await receive_until(boris.ws, lambda f: f.get("type") == "error")
        assert error["code"] == "bad_email" and "адрес" in error["text"]


async def test_an_unseen_reply_is_mailed_and_the_mailed_answer_comes_back_into_the_chat(
        mail_panel: Panel, sessions, smtp_sink: SmtpSink, imap_server: ImapTestServer) -> None:  # noqa: F811
    parts = build_mail(mail_panel.desk)
    assert parts.poller is not None
    poller = asyncio.create_task(parts.poller.run())
    _, key = await shop_widget(sessions)
    try:
        async with visiting(mail_panel, key) as anna:
            await anna.connect()
            ticket_id, _ = await handoff_frames(anna)
            await anna.send({"type": "email", "client_id": "e1", "email": "anna@example.com"})
            await anna.ws.close()  # she leaves

            operator, csrf = await signed_in(mail_panel, sessions, "olga@example.com")
            async with operator.post(mail_panel.url(f"/api/tickets/{ticket_id}/messages"),
                                     json={"body": "Your parcel left today"}, headers=csrf) as r:
                message_id = (await r.json())["id"]
            assert await worker_of(mail_panel).run_once() == 1  # the chat's push; the copy waits
            assert smtp_sink.handler.received == []
            await asyncio.sleep(GRACE + 0.3)
            assert await worker_of(mail_panel).run_once() == 1
            [sent] = smtp_sink.handler.received
            rfc_id = f"<desk.m{message_id}.t{ticket_id}@desk.test>"
            assert sent["To"] == "anna@example.com" and f"[#{ticket_id}]" in sent["Subject"]
            assert sent["Message-ID"] == rfc_id
            text = sent.get_body(("plain",)).get_content()
            assert text.startswith("Your parcel left today") and "Reply to this e-mail, or go back to the chat" in text
            async with sessions() as session:
                message = await session.get(Message, message_id)
                assert message is not None and message.channel_refs["email"] == [rfc_id]
                assert message.delivery_state == "sent"  # the chat's delivery, not the copy's

            await imap_server.append(mail(subject=f"Re: {sent['Subject']}", body="Thanks, got it!",
                                          sender="Anna <ANNA@example.com>", message_id="<a-reply@example.com>",
                                          extra=f"In-Reply-To: {rfc_id}\nReferences: {rfc_id}"))

            async def arrived() -> bool:
                async with sessions() as session:
                    return "Thanks, got it!" in (await session.scalars(
                        select(Message.body).where(Message.ticket_id == ticket_id))).all()

            await eventually(arrived, timeout=10)
            async with sessions() as session:
                assert (await session.scalars(select(Ticket.channel))).all() == ["web"]  # no new e-mail ticket
            anna.after = 0
            frames = await anna.connect()
            mine = [f for f in frames if f.get("type") == "message" and f["body"] == "Thanks, got it!"]
            assert [(f["author"], f["ticket_id"]) for f in mine] == [("customer", ticket_id)]

            # someone else answering the copy (a forward) gets a ticket of their own
            await imap_server.append(mail(subject=f"Re: {sent['Subject']}", body="Who is this?",
                                          sender="Eve <eve@example.com>", message_id="<eve@example.com>",
                                          extra=f"In-Reply-To: {rfc_id}"))

            async def eve() -> bool:
                async with sessions() as session:
                    return len((await session.scalars(select(Ticket.id))).all()) == 2

            await eventually(eve, timeout=10)
            async with sessions() as session:
                assert (await session.scalars(select(Ticket.channel).order_by(Ticket.id))).all() == ["web", "email"]
    finally:
        parts.poller.stop()
        await asyncio.wait_for(poller, 10)


async def test_a_reply_the_widget_showed_is_not_mailed(mail_panel: Panel, sessions, smtp_sink: SmtpSink) -> None:  # noqa: F811
    build_mail(mail_panel.desk)
    _, key = await shop_widget(sessions)
    async with visiting(mail_panel, key) as anna:
        await anna.connect()
        ticket_id, _ = await handoff_frames(anna)
        await anna.send({"type": "email", "client_id": "e1", "email": "anna@example.com"})
        operator, csrf = await signed_in(mail_panel, sessions, "olga@example.com")
        async with operator.post(mail_panel.url(f"/api/tickets/{ticket_id}/messages"),
                                 json={"body": "Here you are"}, headers=csrf) as r:
            message_id = (await r.json())["id"]
        await worker_of(mail_panel).run_once()
        await receive_until(anna.ws, lambda f: f.get("type") == "message" and f["id"] == message_id)
        await anna.ws.send_json({"type": "seen", "id": message_id})
        await anna.ws.send_json({"type": "ping"})
        await receive_until(anna.ws, lambda f: f.get("type") == "pong")
        await asyncio.sleep(GRACE + 0.3)
        assert await worker_of(mail_panel).run_once() == 1
        async with sessions() as session:
            row = await session.scalar(select(OutboxItem).where(OutboxItem.channel == "email"))
        assert row is not None and row.state == "sent" and row.result == {"skipped": "seen"}
        assert smtp_sink.handler.received == []
