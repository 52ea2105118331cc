"""Auto-assignment on real PostgreSQL: round robin among a queue's online members, the per-operator cap,
tickets of an operator away too long, the queue's switch, and transactions that overlap."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import desk
from core.assignment import AssignmentRules
from core.channels import ChannelRegistry
from core.db import create_session_factory
from core.models import AuditLog, Event, Queue, QueueMember, Ticket
from core.services import autoassign, conversations, tickets
from core.services.autoassign import PassResult, run_pass
from core.services.presence import leave_presence, touch_presence
from core.settings import load_settings
from tests.sla.conftest import make_contact, make_operator

Sessions = async_sessionmaker[AsyncSession]


def with_rules(engine: AsyncEngine, channels: ChannelRegistry, max_open: int = 5,
               offline_after: timedelta = timedelta(minutes=10)) -> Sessions:
    return create_session_factory(engine, channels=channels,
                                  assignment=AssignmentRules(max_open=max_open, offline_after=offline_after))


async def staff(sessions: Sessions, *names: str, online: bool = True, auto: bool = True) -> list[int]:
    """Members of the `general` queue (its switch set to `auto`), signed in to the panel when `online`."""
    async with sessions() as session, session.begin():
        queue_id = await session.scalar(select(Queue.id).where(Queue.slug == "general"))
        await session.execute(update(Queue).where(Queue.id == queue_id).values(auto_assign=auto))
        ids = []
        for name in names:
            operator = await make_operator(session, f"{name}@example.com")
            session.add(QueueMember(queue_id=queue_id, operator_id=operator.id))
            if online:
                await touch_presence(session, operator.id)
            ids.append(operator.id)
        return ids


async def customer_opens(sessions: Sessions, n: int) -> int:
    async with sessions() as session, session.begin():
        contact = await make_contact(session, 7000 + n)
        ticket, _ = await conversations.open_ticket(session, contact=contact, channel="telegram",
                                                    queue_slug="general", subject=f"question {n}")
        return ticket.id


async def owners(sessions: Sessions, ids: list[int]) -> list[int | None]:
    async with sessions() as session:
        found = dict((await session.execute(select(Ticket.id, Ticket.assignee_id).where(Ticket.id.in_(ids)))).all())
    return [found[i] for i in ids]


async def one_pass(sessions: Sessions) -> PassResult:
    async with sessions() as session, session.begin():
        return await run_pass(session)


async def test_new_tickets_go_round_robin_to_the_online_members(sessions: Sessions, engine: AsyncEngine,
                                                                channels: ChannelRegistry) -> None:
    clocked = with_rules(engine, channels)
    anna, boris = await staff(clocked, "Anna", "Boris")
    outsider = await make_operator_online(clocked, "Olga")  # online, not a member of the queue
    opened = [await customer_opens(clocked, n) for n in range(4)]
    assert await owners(clocked, opened) == [anna, boris, anna, boris]
    async with clocked() as session:
        history = await tickets.history(session, opened[1])
        assigned = list(await session.scalars(select(Event.data).where(Event.type == "ticket.assigned")
                                              .order_by(Event.id)))
    assert [(h["action"], h["actor_kind"], h["via"], h["new_name"]) for h in history] == [
        ("assignee_id", "system", "auto", "Boris")]
    assert [(e["ticket_id"], e["assignee_id"], e["via"]) for e in assigned] == [
        (opened[0], anna, "auto"), (opened[1], boris, "auto"), (opened[2], anna, "auto"), (opened[3], boris, "auto")]
    assert outsider not in await owners(clocked, opened)


async def make_operator_online(sessions: Sessions, name: str) -> int:
    async with sessions() as session, session.begin():
        operator = await make_operator(session, f"{name}@example.com")
        await touch_presence(session, operator.id)
        return operator.id


async def test_a_cap_of_one_leaves_the_third_ticket_until_one_is_closed(sessions: Sessions, engine: AsyncEngine,
                                                                         channels: ChannelRegistry) -> None:
    clocked = with_rules(engine, channels, max_open=1)
    anna, boris = await staff(clocked, "Anna", "Boris")
    first, second, third = [await customer_opens(clocked, n) for n in range(3)]
    assert await owners(clocked, [first, second, third]) == [anna, boris, None]
    assert await one_pass(clocked) == PassResult()
    assert await owners(clocked, [third]) == [None]
    async with clocked() as session, session.begin():
        await tickets.change_status(session, second, "closed", actor_kind="operator", actor_id=boris)
    assert await one_pass(clocked) == PassResult(assigned=1)
    assert await owners(clocked, [third]) == [boris]


async def test_an_absent_operators_tickets_go_to_online_members_under_the_cap(
    sessions: Sessions, engine: AsyncEngine, channels: ChannelRegistry
) -> None:
    clocked = with_rules(engine, channels, max_open=2, offline_after=timedelta(seconds=1))
    anna, boris = await staff(clocked, "Anna", "Boris")
    (carl,) = await staff(clocked, "Carl", online=False)  # a member who has not signed in
    first, second, third = [await customer_opens(clocked, n) for n in range(3)]
    assert await owners(clocked, [first, second, third]) == [anna, boris, anna]
    async with clocked() as session, session.begin():
        await leave_presence(session, anna)  # Anna closes the panel
    assert await one_pass(clocked) == PassResult()  # not away long enough yet
    assert await owners(clocked, [first, third]) == [anna, anna]

    await asyncio.sleep(1.3)
    # Boris has room for one (cap 2); Carl is offline: the other goes back to the queue
    assert await one_pass(clocked) == PassResult(reassigned=1, returned=1)
    assert await owners(clocked, [first, second, third]) == [boris, boris, None]
    async with clocked() as session:
        history = await tickets.history(session, third)
    assert [(h["old_name"], h["new_name"], h["via"]) for h in history] == [(None, "Anna", "auto"),
                                                                           ("Anna", None, "auto")]

    async with clocked() as session, session.begin():
        await touch_presence(session, carl)  # Carl signs in: the pass gives him the waiting ticket
    assert await one_pass(clocked) == PassResult(assigned=1)
    assert await owners(clocked, [third]) == [carl]
    async with clocked() as session, session.begin():
        await touch_presence(session, anna)  # Anna is back: nothing moves back to her
    assert await one_pass(clocked) == PassResult()


async def test_a_queue_with_the_switch_off_stays_manual(sessions: Sessions, engine: AsyncEngine,
                                                        channels: ChannelRegistry) -> None:
    clocked = with_rules(engine, channels)
    await staff(clocked, "Anna", auto=False)
    ticket = await customer_opens(clocked, 1)
    assert await one_pass(clocked) == PassResult()
    assert await owners(clocked, [ticket]) == [None]
    async with clocked() as session:
        assert await session.scalar(select(AuditLog.id).where(AuditLog.action == "ticket.assignee_id")) is None


async def test_overlapping_transactions_never_give_a_ticket_twice_nor_pass_the_cap(
    sessions: Sessions, engine: AsyncEngine, channels: ChannelRegistry
) -> None:
    clocked = with_rules(engine, channels, max_open=1)
    (anna,) = await staff(clocked, "Anna")
    # Two tickets open at once: the first transaction holds Anna until it commits, so the second skips
    # her and leaves its ticket for the pass, which then finds her at the cap.
    async with clocked() as first, first.begin():
        ticket_a, _ = await conversations.open_ticket(first, contact=await make_contact(first, 1), channel="telegram",
                                                      queue_slug="general", subject="a")
        async with clocked() as second, second.begin():
            ticket_b, _ = await conversations.open_ticket(second, contact=await make_contact(second, 2),
                                                          channel="telegram", queue_slug="general", subject="b")
            assert (ticket_a.assignee_id, ticket_b.assignee_id) == (anna, None)
    assert await one_pass(clocked) == PassResult()
    assert await owners(clocked, [ticket_a.id, ticket_b.id]) == [anna, None]

    # A pass that has not committed holds its tickets and its operator: a second pass takes neither.
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_a.id, "closed", actor_kind="operator", actor_id=anna)
    async with clocked() as first, first.begin():
        assert await run_pass(first) == PassResult(assigned=1)
        async with clocked() as second, second.begin():
            assert await run_pass(second) == PassResult()
    assert await owners(clocked, [ticket_b.id]) == [anna]


async def test_tickets_opening_at_once_beside_passes_keep_the_cap(sessions: Sessions, engine: AsyncEngine,
                                                                  channels: ChannelRegistry) -> None:
    clocked = with_rules(engine, channels, max_open=1)
    waiting = [await customer_opens(clocked, n) for n in range(4)]  # nobody online yet: these wait
    anna, boris = await staff(clocked, "Anna", "Boris")
    # eight customers open tickets, each in their own transaction, while three passes run
    work = [customer_opens(clocked, n) for n in range(10, 18)] + [one_pass(clocked) for _ in range(3)]
    opened = [r for r in await asyncio.gather(*work) if isinstance(r, int)]
    await one_pass(clocked)
    held = Counter(o for o in await owners(clocked, waiting + opened) if o is not None)
    assert held == {anna: 1, boris: 1}
    async with clocked() as session:
        audited = Counter(await session.scalars(select(AuditLog.object_id)
                                                .where(AuditLog.action == "ticket.assignee_id")))
    assert list(audited.values()) == [1, 1]  # each given once, nothing taken back


async def test_the_hook_leaves_tickets_of_other_queues_alone(sessions: Sessions, engine: AsyncEngine,
                                                             channels: ChannelRegistry) -> None:
    clocked = with_rules(engine, channels)
    await staff(clocked, "Anna")
    async with clocked() as session, session.begin():
        contact = await make_contact(session, 9)
        ticket, _ = await conversations.open_ticket(session, contact=contact, channel="telegram",
                                                    queue_slug="billing", subject="invoice")
        assert await autoassign.ticket_opened(session, ticket) is None
    assert await owners(clocked, [ticket.id]) == [None]


async def test_the_desk_wires_its_settings_into_the_opening_hook_and_the_leader_pass(
    sessions: Sessions, database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(_env_file=None, desk_data_dir=tmp_path, auto_assign_max_open=1)
    app = desk.build_desk(settings, database_url)
    try:
        desk.register_jobs(app)
        (anna,) = await staff(app.sessions, "Anna")
        first, second = [await customer_opens(app.sessions, n) for n in range(2)]
        assert await owners(app.sessions, [first, second]) == [anna, None]  # AUTO_ASSIGN_MAX_OPEN=1
        async with app.sessions() as session, session.begin():
            await tickets.change_status(session, first, "closed", actor_kind="operator", actor_id=anna)
        await app.scheduler.run_now("tickets.auto_assign")
        assert await owners(app.sessions, [second]) == [anna]
    finally:
        await app.engine.dispose()
