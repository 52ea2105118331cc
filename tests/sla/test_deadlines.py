"""Deadline rules through the real use cases, on PostgreSQL, with a controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import AuditLog, Event, Operator, Queue, Ticket
from core.services import conversations, tickets
from core.services.conversations import Inbound
from core.sla import policy as sla_policy
from tests.sla.clocks import ManualClock
from tests.sla.conftest import START, load, make_operator, open_ticket


@pytest.mark.parametrize(
    ("priority", "first", "resolution"),
    [("urgent", 15, 4 * 60), ("high", 60, 8 * 60), ("medium", 4 * 60, 24 * 60), ("low", 8 * 60, 72 * 60)],
)
async def test_deadlines_are_set_at_creation_from_the_default_policy(
    clocked: async_sessionmaker[AsyncSession], priority: str, first: int, resolution: int
) -> None:
    ticket = await load(clocked, await open_ticket(clocked, priority=priority))
    assert ticket.sla_started_at == START
    assert ticket.frt_due_at == START + timedelta(minutes=first)
    assert ticket.ttr_due_at == START + timedelta(minutes=resolution)


async def test_an_admin_policy_applies_to_tickets_opened_later(clocked: async_sessionmaker[AsyncSession]) -> None:
    async with clocked() as session, session.begin():
        await sla_policy.set_policy(session, "urgent", first_response_minutes=5, resolution_minutes=60, actor_id=None)
    ticket = await load(clocked, await open_ticket(clocked, priority="urgent"))
    assert ticket.frt_due_at == START + timedelta(minutes=5)
    assert ticket.ttr_due_at == START + timedelta(hours=1)


async def _operator(sessions: async_sessionmaker[AsyncSession]) -> Operator:
    async with sessions() as session, session.begin():
        return await make_operator(session)


async def test_first_response_is_met_by_a_public_reply_not_by_a_note_or_a_bot_line(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ticket_id = await open_ticket(clocked)
    operator = await _operator(clocked)
    clock.advance(minutes=5)
    async with clocked() as session, session.begin():
        await conversations.add_note(session, ticket_id=ticket_id, operator=operator, body="looking")
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await conversations.system_message(session, ticket, "Here is an article", author_kind="bot")
    assert (await load(clocked, ticket_id)).first_response_at is None
    clock.advance(minutes=7)
    async with clocked() as session, session.begin():
        await conversations.operator_replied(session, ticket_id=ticket_id, operator=operator, body="Hello!")
    clock.advance(minutes=3)
    async with clocked() as session, session.begin():
        await conversations.operator_replied(session, ticket_id=ticket_id, operator=operator, body="Again")
    assert (await load(clocked, ticket_id)).first_response_at == START + timedelta(minutes=12)


async def test_resolution_is_met_on_close(clocked: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    ticket_id = await open_ticket(clocked, priority="high")
    clock.advance(hours=3)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "closed", actor_kind="system", actor_id=None)
    ticket = await load(clocked, ticket_id)
    assert ticket.resolved_at == START + timedelta(hours=3)
    assert ticket.ttr_due_at == START + timedelta(hours=8)
    assert ticket.sla_next_check_at is None


async def test_resolution_clock_pauses_while_waiting_and_resumes_when_the_customer_writes(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ticket_id = await open_ticket(clocked, priority="high")  # resolution 8 h
    clock.advance(hours=2)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "waiting_customer", actor_kind="system", actor_id=None)
    paused = await load(clocked, ticket_id)
    assert paused.ttr_due_at is None
    assert paused.sla_paused_at == START + timedelta(hours=2)
    clock.advance(hours=5)
    async with clocked() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await conversations.customer_wrote(session, ticket, Inbound(body="Still broken", external_key="tg:1:1"))
    resumed = await load(clocked, ticket_id)
    assert resumed.sla_paused_at is None
    assert resumed.sla_paused_seconds == 5 * 3600
    assert resumed.ttr_due_at == START + timedelta(hours=8 + 5)
    assert resumed.status == "open"  # the customer answered: the operators' turn, and the status says so


async def test_an_answer_on_a_waiting_ticket_returns_it_to_its_owner_and_waiting_again_pauses_again(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ticket_id = await open_ticket(clocked, priority="high")  # resolution 8 h
    async with clocked() as session, session.begin():
        owner = await make_operator(session)
        await tickets.assign(session, ticket_id, owner.id, actor_kind="system", actor_id=None)
        await tickets.change_status(session, ticket_id, "waiting_customer", actor_kind="system", actor_id=None)
    clock.advance(hours=1)
    async with clocked() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await conversations.customer_wrote(session, ticket, Inbound(body="Here it is", external_key="tg:1:2"))
    answered = await load(clocked, ticket_id)
    assert (answered.status, answered.sla_paused_at) == ("in_progress", None)
    assert answered.ttr_due_at == START + timedelta(hours=8 + 1)
    async with clocked() as session:
        updates = (await session.scalars(select(Event).where(Event.type == "ticket.updated").order_by(Event.id))).all()
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "ticket.status")
                                       .order_by(AuditLog.id))).all()
    assert updates[-1].data["status"] == "in_progress"
    assert (audit[-1].actor_kind, audit[-1].data) == ("contact", {"old": "waiting_customer", "new": "in_progress"})
    clock.advance(hours=1)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "waiting_customer", actor_kind="system", actor_id=None)
    waiting = await load(clocked, ticket_id)
    assert (waiting.status, waiting.sla_paused_at, waiting.ttr_due_at) == ("waiting_customer", clock.now(), None)


async def test_setting_waiting_again_pauses_a_ticket_left_waiting_with_a_running_clock(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ticket_id = await open_ticket(clocked, priority="high")
    async with clocked() as session, session.begin():  # as an older release left it: waiting, clock running
        await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(status="waiting_customer"))
    clock.advance(hours=1)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "waiting_customer", actor_kind="system", actor_id=None)
    ticket = await load(clocked, ticket_id)
    assert (ticket.sla_paused_at, ticket.ttr_due_at) == (clock.now(), None)


async def test_resolution_clock_resumes_when_the_status_changes_back(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ticket_id = await open_ticket(clocked, priority="urgent")  # resolution 4 h
    clock.advance(hours=1)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "waiting_customer", actor_kind="system", actor_id=None)
    clock.advance(minutes=30)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "in_progress", actor_kind="system", actor_id=None)
    clock.advance(hours=1)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "waiting_customer", actor_kind="system", actor_id=None)
    clock.advance(hours=2)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "open", actor_kind="system", actor_id=None)
    ticket = await load(clocked, ticket_id)
    assert ticket.sla_paused_seconds == int(2.5 * 3600)
    assert ticket.ttr_due_at == START + timedelta(hours=4 + 2.5)


async def test_closing_while_paused_judges_resolution_by_the_running_time_only(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ticket_id = await open_ticket(clocked, priority="urgent")  # 4 h
    clock.advance(hours=3)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "waiting_customer", actor_kind="system", actor_id=None)
    clock.advance(days=3)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "closed", actor_kind="system", actor_id=None)
    ticket = await load(clocked, ticket_id)
    assert ticket.resolved_at is not None and ticket.ttr_due_at is not None
    assert ticket.resolved_at <= ticket.ttr_due_at
    assert ticket.ttr_due_at - ticket.resolved_at == timedelta(hours=1)


async def test_reopen_resumes_the_resolution_clock_from_where_it_stopped(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ticket_id = await open_ticket(clocked, priority="high")  # 8 h
    clock.advance(hours=1)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "closed", actor_kind="system", actor_id=None)
    clock.advance(hours=10)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "open", actor_kind="system", actor_id=None)
    ticket = await load(clocked, ticket_id)
    assert ticket.resolved_at is None
    assert ticket.ttr_due_at == START + timedelta(hours=8 + 10)
    assert ticket.sla_next_check_at == START + timedelta(hours=11)


async def test_priority_change_midway_recomputes_from_the_start(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ticket_id = await open_ticket(clocked, priority="low")  # 8 h / 72 h
    clock.advance(minutes=10)
    async with clocked() as session, session.begin():
        await tickets.change_priority(session, ticket_id, "urgent", actor_kind="operator", actor_id=None)
    ticket = await load(clocked, ticket_id)
    assert ticket.frt_due_at == START + timedelta(minutes=15)
    assert ticket.ttr_due_at == START + timedelta(hours=4)
    assert ticket.sla_revision == 1
    clock.advance(minutes=10)
    operator = await _operator(clocked)
    async with clocked() as session, session.begin():
        await conversations.operator_replied(session, ticket_id=ticket_id, operator=operator, body="On it")
        await tickets.change_priority(session, ticket_id, "medium", actor_kind="operator", actor_id=operator.id)
    ticket = await load(clocked, ticket_id)
    assert ticket.frt_due_at == START + timedelta(minutes=15)  # met deadlines stay as they were judged
    assert ticket.ttr_due_at == START + timedelta(hours=24)
    assert ticket.sla_revision == 2


async def test_queue_change_uses_the_new_queues_business_hours(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    from core.sla import hours

    ticket_id = await open_ticket(clocked, priority="urgent", queue="technical")
    async with clocked() as session, session.begin():
        billing = await session.scalar(select(Queue.id).where(Queue.slug == "billing"))
        assert billing is not None
        # Monday 14:00-15:00 UTC only; the ticket was opened Monday 10:00 UTC.
        await hours.set_hours(session, billing, time_zone="UTC", weekly={"mon": [["14:00", "15:00"]]}, actor_id=None)
        await tickets.change_queue(session, ticket_id, billing, actor_kind="operator", actor_id=None)
    ticket = await load(clocked, ticket_id)
    assert ticket.frt_due_at == START + timedelta(hours=4, minutes=15)
    # 4 h of business time at one hour a week: four Mondays.
    assert ticket.ttr_due_at == START + timedelta(days=21, hours=5)


async def test_invalid_priority_and_unknown_queue_are_refused(clocked: async_sessionmaker[AsyncSession]) -> None:
    from core.errors import InvalidInput, NotFound

    ticket_id = await open_ticket(clocked)
    async with clocked() as session:
        with pytest.raises(InvalidInput):
            await tickets.change_priority(session, ticket_id, "asap", actor_kind="system", actor_id=None)
        with pytest.raises(NotFound):
            await tickets.change_queue(session, ticket_id, 999_999, actor_kind="system", actor_id=None)
