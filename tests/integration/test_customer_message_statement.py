"""`customer_wrote`'s one statement: the message, its files, the ticket's UPDATE and the events' hand-over,
with the events' data built in SQL from the same field lists as the Python payloads."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts import contact_for_telegram
from core import events
from core.models import Attachment, Event, Message, Ticket
from core.services import flood
from core.services.contacts import TelegramProfile
from core.services.conversations import Inbound, NewAttachment, customer_wrote, message_payload, open_ticket
from core.services.tickets import ticket_payload


async def _ticket(session: AsyncSession) -> Ticket:
    contact = await contact_for_telegram(session, TelegramProfile(7, "C"))
    ticket, _ = await open_ticket(session, contact=contact, channel="telegram", queue_slug="general", subject="s")
    return ticket


async def _events(sessions: async_sessionmaker[AsyncSession]) -> list[Event]:
    async with sessions() as session:
        return list((await session.scalars(select(Event).order_by(Event.id))).all())


async def test_the_events_carry_what_the_python_payloads_of_the_stored_rows_say(sessions) -> None:
    async with sessions() as session, session.begin():
        ticket = await _ticket(session)
        # A whole second (no fraction in isoformat) and a fraction, both rendered as Python does.
        await session.execute(update(Ticket).where(Ticket.id == ticket.id).values(
            frt_due_at=datetime(2026, 12, 8, 9, 0, tzinfo=UTC), ttr_due_at=datetime(2026, 12, 8, 9, 0, 0, 120, UTC)))
    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket.id)
        assert ticket is not None
        first = await customer_wrote(session, ticket, Inbound("first", external_key="m0"))
        assert first is not None and first.body == "first" and first.ticket_id == ticket.id
        files = (NewAttachment("a.png", "image/png", 10, storage_key="k1", channel_refs={"telegram": "f1"}),
                 NewAttachment("b.pdf", "application/pdf", 0, problem="too big"))
        message = await customer_wrote(session, ticket, Inbound("hello ☺ 'quoted'", kind="file", external_key="m1",
                                                                meta={"x": [1, "y"]}, attachments=files))
        assert message is not None and message.id != ticket.id and message.kind == "file"
        assert ticket.unread_count == 2  # the session's own ticket, refreshed from the UPDATE's RETURNING
    written = {event.type: event.data for event in await _events(sessions)}
    async with sessions() as session:
        stored = await session.get(Message, message.id)
        ticket = await session.get(Ticket, ticket.id)
        assert stored is not None and ticket is not None
        attachments = list((await session.scalars(select(Attachment).where(Attachment.message_id == stored.id)
                                                  .order_by(Attachment.id))).all())
        assert [a.file_name for a in attachments] == ["a.png", "b.pdf"]
        assert attachments[0].channel_refs == {"telegram": "f1"}
        assert written["message.created"] == events_json(message_payload(stored, attachments))
        assert written["ticket.updated"] == events_json(ticket_payload(ticket))
        assert ticket.unread_count == 2 and ticket.last_customer_message_at is not None


def events_json(payload: dict) -> dict:
    """A payload as it reads back from `event.data` (jsonb)."""
    import json

    return json.loads(events.dumps(payload))


async def test_events_published_before_keep_their_order_and_a_duplicate_writes_nothing(sessions) -> None:
    async with sessions() as session, session.begin():
        ticket = await _ticket(session)
        assert await customer_wrote(session, ticket, Inbound("one", external_key="k")) is not None
        events.publish(session, "after.first", {})
        assert await customer_wrote(session, ticket, Inbound("again", external_key="k")) is None
        events.publish(session, "last", {})
    assert [event.type for event in await _events(sessions)] == [
        "ticket.created", "message.created", "ticket.updated", "after.first", "last"]


async def test_a_rolled_back_savepoint_takes_back_its_batch_and_the_earlier_events_are_still_written(
        sessions) -> None:
    async with sessions() as session, session.begin():
        ticket = await _ticket(session)
        events.publish(session, "before", {})
        savepoint = await session.begin_nested()
        assert await customer_wrote(session, ticket, Inbound("undone", external_key="u")) is not None
        await savepoint.rollback()
        events.publish(session, "after", {})
    assert [event.type for event in await _events(sessions)] == ["ticket.created", "before", "after"]
    async with sessions() as session:
        assert await session.scalar(select(Message.id)) is None


async def test_the_statement_counts_the_message_when_asked_stored_or_not(sessions) -> None:
    async with sessions() as session, session.begin():
        ticket = await _ticket(session)
        checks = []
        for key in ("a", "a", "b"):  # the second is an album's next item: not stored again, still counted
            count = flood.Count(ticket.contact_id, per_minute=2)
            await customer_wrote(session, ticket, Inbound("x", external_key=key), count=count)
            checks.append(count.check)
        assert checks == [flood.FloodCheck(1, False, False), flood.FloodCheck(2, False, False),
                          flood.FloodCheck(3, True, True)]
        assert await customer_wrote(session, ticket, Inbound("not counted", external_key="c")) is not None
        assert await flood.count_message(session, ticket.contact_id, 2) == flood.FloodCheck(4, True, False)
