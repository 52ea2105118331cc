"""SMTP answers decide the outcome: 4xx and outages retry, 5xx fail the message with the server's reply."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Contact, Message, Operator, OutboxItem, Ticket
from core.outbox import OutboxWorker
from core.services import conversations
from core.services.contacts import contact_for_email
from tests.mail.servers import SmtpSink


async def _reply(sessions: async_sessionmaker[AsyncSession], operator: Operator) -> Message:
    async with sessions() as session, session.begin():
        contact: Contact = await contact_for_email(session, "carol@example.com", "Carol")
        ticket, _ = await conversations.open_ticket(session, contact=contact, channel="email", queue_slug="email",
                                                    subject="Refund")
        return await conversations.operator_replied(session, ticket_id=ticket.id, operator=operator,
                                                    body="Your refund is on its way.")


async def _row(sessions: async_sessionmaker[AsyncSession], message_id: int) -> tuple[OutboxItem, Message]:
    async with sessions() as session:
        row = await session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))
        message = await session.get(Message, message_id)
    assert row is not None and message is not None
    return row, message


async def _make_due(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(OutboxItem).values(next_attempt_at=OutboxItem.created_at))


async def test_temporary_refusal_is_retried_until_the_server_accepts(
    sessions: async_sessionmaker[AsyncSession], smtp_sink: SmtpSink, outbox_worker: OutboxWorker, operator: Operator
) -> None:
    smtp_sink.handler.answer = "451 4.7.1 Greylisted, try again later"
    reply = await _reply(sessions, operator)
    assert await outbox_worker.run_once() == 1
    row, message = await _row(sessions, reply.id)
    assert (row.state, row.attempts, message.delivery_state) == ("pending", 1, "queued")
    assert row.last_error is not None and "451" in row.last_error and "Greylisted" in row.last_error
    assert smtp_sink.handler.received == []

    smtp_sink.handler.answer = None
    await _make_due(sessions)
    assert await outbox_worker.run_once() == 1
    row, message = await _row(sessions, reply.id)
    assert (row.state, row.attempts, message.delivery_state) == ("sent", 2, "sent")
    assert [m["Subject"] for m in smtp_sink.handler.received] == [f"Re: [#{message.ticket_id}] Refund"]


async def test_permanent_refusal_fails_the_message_with_the_servers_reply(
    sessions: async_sessionmaker[AsyncSession], smtp_sink: SmtpSink, outbox_worker: OutboxWorker, operator: Operator
) -> None:
    smtp_sink.handler.answer = "550 5.1.1 <carol@example.com>: Recipient address rejected"
    reply = await _reply(sessions, operator)
    assert await outbox_worker.run_once() == 1
    row, message = await _row(sessions, reply.id)
    assert (row.state, message.delivery_state) == ("failed", "failed")
    assert message.delivery_error is not None
    assert "550" in message.delivery_error and "Recipient address rejected" in message.delivery_error


async def test_unreachable_server_is_retried_not_failed(
    sessions: async_sessionmaker[AsyncSession], smtp_sink: SmtpSink, outbox_worker: OutboxWorker, operator: Operator
) -> None:
    await smtp_sink.stop()
    reply = await _reply(sessions, operator)
    assert await outbox_worker.run_once() == 1
    row, message = await _row(sessions, reply.id)
    assert (row.state, message.delivery_state) == ("pending", "queued")
    assert row.last_error

    async with sessions() as session:
        ticket = await session.get(Ticket, message.ticket_id)
    assert ticket is not None and ticket.status == "in_progress"
