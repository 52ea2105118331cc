"""The watch job: a warning before each deadline and a breach after it, each once, as events,
Telegram alerts (outbox rows) in the recipient's language, and log lines."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.models import Event, OutboxItem, Queue, QueueMember, Ticket
from core.services import conversations, tickets
from core.services.conversations import Inbound
from core.sla import reports
from core.sla.watch import SlaWatch
from tests.sla.clocks import ManualClock
from tests.sla.conftest import EVER, START, make_operator, open_ticket


@pytest.fixture
def watch(clocked: async_sessionmaker[AsyncSession], clock: ManualClock, translator: Translator) -> SlaWatch:
    return SlaWatch(clocked, translator, clock=clock, warn_before=timedelta(hours=1))


async def sla_events(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int | None, str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(Event).where(Event.type.like("sla.%")).order_by(Event.id))
        return [(e.type, e.ticket_id, e.data["target"], e.data["stage"]) for e in rows]


async def alerts(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, object]]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxItem).where(OutboxItem.kind == "text").order_by(OutboxItem.id))
        return [{"channel": r.channel, **r.payload} for r in rows]


async def assign(sessions: async_sessionmaker[AsyncSession], ticket_id: int, **operator: object) -> int:
    async with sessions() as session, session.begin():
        op = await make_operator(session, **operator)  # type: ignore[arg-type]
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.assignee_id = op.id
        return op.id


async def test_warning_then_breach_each_once_with_log_lines_and_telegram_alerts(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, watch: SlaWatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticket_id = await open_ticket(clocked, priority="medium")  # first response 4 h, resolution 24 h
    await assign(clocked, ticket_id, telegram_user_id=777, language="en")
    caplog.set_level(logging.INFO, logger="core.sla.watch")
    await watch.run()
    assert "SLA watch: all open tickets on time" in caplog.messages
    clock.set(START + timedelta(hours=3, minutes=28))
    await watch.run()
    await watch.run()
    assert f"[Ticket #{ticket_id} | Site outage] first response due in 32 min" in caplog.messages
    assert await sla_events(clocked) == [("sla.warning", ticket_id, "first_response", "warning")]
    clock.set(START + timedelta(hours=4, minutes=5))
    await watch.run()
    await watch.run()
    assert f"[Ticket #{ticket_id} | Site outage] first response overdue by 5 min" in caplog.messages
    assert await sla_events(clocked) == [
        ("sla.warning", ticket_id, "first_response", "warning"),
        ("sla.breached", ticket_id, "first_response", "breach"),
    ]
    assert [a["text"] for a in await alerts(clocked)] == [
        f"⏰ [Ticket #{ticket_id} | Site outage] first response due in 32 min",
        f"🔴 [Ticket #{ticket_id} | Site outage] first response overdue by 5 min",
    ]
    assert {a["chat_id"] for a in await alerts(clocked)} == {777}
    caplog.clear()
    await watch.run()
    assert "SLA watch: no new alerts; 1 deadlines already missed" in caplog.messages


async def test_resolution_warns_and_breaches_after_the_first_response_is_met(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, watch: SlaWatch
) -> None:
    ticket_id = await open_ticket(clocked, priority="urgent")  # 15 min / 4 h: warned at once
    await watch.run()
    async with clocked() as session, session.begin():
        operator = await make_operator(session)
        await conversations.operator_replied(session, ticket_id=ticket_id, operator=operator, body="Hi")
    clock.set(START + timedelta(hours=3, minutes=30))
    await watch.run()
    clock.set(START + timedelta(hours=4, minutes=1))
    await watch.run()
    assert await sla_events(clocked) == [
        ("sla.warning", ticket_id, "first_response", "warning"),
        ("sla.warning", ticket_id, "resolution", "warning"),
        ("sla.breached", ticket_id, "resolution", "breach"),
    ]


async def test_unassigned_ticket_alerts_its_queue_members_in_their_language(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, watch: SlaWatch
) -> None:
    ticket_id = await open_ticket(clocked, priority="medium", queue="billing", subject="Счёт <двойной>")
    async with clocked() as session, session.begin():
        billing = await session.scalar(select(Queue.id).where(Queue.slug == "billing"))
        ru = await make_operator(session, "ru@example.com", telegram_user_id=901, language="ru")
        en = await make_operator(session, "en@example.com", telegram_user_id=902, language="en")
        no_tg = await make_operator(session, "nt@example.com")
        await make_operator(session, "other@example.com", telegram_user_id=903)  # not in the queue
        session.add_all([QueueMember(queue_id=billing, operator_id=op.id) for op in (ru, en, no_tg)])
    clock.set(START + timedelta(hours=3, minutes=50))
    await watch.run()
    sent = sorted(await alerts(clocked), key=lambda a: int(str(a["chat_id"])))
    assert [(a["channel"], a["chat_id"]) for a in sent] == [("telegram", 901), ("telegram", 902)]
    assert sent[0]["text"] == f"⏰ [Заявка #{ticket_id} | Счёт &lt;двойной&gt;] первый ответ нужен через 10 мин"
    assert sent[1]["text"] == f"⏰ [Ticket #{ticket_id} | Счёт &lt;двойной&gt;] first response due in 10 min"


async def test_a_queue_without_members_alerts_every_linked_staff_member(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, watch: SlaWatch
) -> None:
    await open_ticket(clocked, priority="medium")
    async with clocked() as session, session.begin():
        await make_operator(session, "a@example.com", telegram_user_id=1)
        await make_operator(session, "b@example.com", telegram_user_id=2, is_active=False)
        await make_operator(session, "c@example.com", telegram_user_id=3, role="partner")
    clock.set(START + timedelta(hours=3, minutes=30))
    await watch.run()
    assert [a["chat_id"] for a in await alerts(clocked)] == [1]


async def test_closed_tickets_are_ignored_and_an_unanswered_waiting_one_still_breaches_its_first_response(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, watch: SlaWatch
) -> None:
    closed = await open_ticket(clocked, priority="high", telegram_user_id=1)
    waiting = await open_ticket(clocked, priority="high", telegram_user_id=2)  # 1 h / 8 h
    async with clocked() as session, session.begin():
        await tickets.change_status(session, closed, "closed", actor_kind="system", actor_id=None)
        await tickets.change_status(session, waiting, "waiting_customer", actor_kind="system", actor_id=None)
    clock.set(START + timedelta(hours=2))
    await watch.run()
    # The customer's question is still unanswered: the alert and the report say the same.
    assert await sla_events(clocked) == [("sla.breached", waiting, "first_response", "breach")]
    async with clocked() as session:
        report = await reports.sla_report(session, since=START - timedelta(days=30), until=EVER, now=clock.now())
    high = report.group("priority")[0]
    assert (high.key, high.frt_met, high.frt_judged, high.ttr_judged) == ("high", 0, 2, 1)
    async with clocked() as session, session.begin():
        ticket = await session.get(Ticket, waiting)
        assert ticket is not None
        await conversations.customer_wrote(session, ticket, Inbound(body="any news?", external_key="tg:2:9"))
    clock.set(START + timedelta(hours=9, minutes=30))  # 2 h paused: resolution now due at 10:00
    await watch.run()
    assert await sla_events(clocked) == [
        ("sla.breached", waiting, "first_response", "breach"),
        ("sla.warning", waiting, "resolution", "warning"),
    ]


async def test_a_priority_change_after_a_warning_warns_again_for_the_new_deadline(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, watch: SlaWatch
) -> None:
    ticket_id = await open_ticket(clocked, priority="medium")
    clock.set(START + timedelta(hours=3, minutes=30))
    await watch.run()
    async with clocked() as session, session.begin():
        await tickets.change_priority(session, ticket_id, "urgent", actor_kind="system", actor_id=None)
    await watch.run()
    await watch.run()
    assert await sla_events(clocked) == [
        ("sla.warning", ticket_id, "first_response", "warning"),
        # urgent: first response was due 15 min after the start; resolution (4 h) is 30 min away
        ("sla.breached", ticket_id, "first_response", "breach"),
        ("sla.warning", ticket_id, "resolution", "warning"),
    ]


async def test_the_watch_reads_only_tickets_whose_check_is_due(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, watch: SlaWatch
) -> None:
    for user in range(5):
        await open_ticket(clocked, priority="low", telegram_user_id=100 + user)
    first = await watch.run()
    assert first.checked == 5
    second = await watch.run()
    assert second.checked == 0
    async with clocked() as session:
        nexts = set(await session.scalars(select(func.distinct(Ticket.sla_next_check_at))))
    assert nexts == {START + timedelta(hours=7)}  # first response (8 h) minus the warning hour


async def test_two_watchers_at_once_still_emit_each_alert_once(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, translator: Translator
) -> None:
    """Two leaders for a moment (an old one that has not noticed it lost the lock): the ledger holds."""
    ids = [await open_ticket(clocked, priority="medium", telegram_user_id=300 + n) for n in range(30)]
    clock.set(START + timedelta(hours=3, minutes=30))
    first, second = (SlaWatch(clocked, translator, clock=clock, batch=7) for _ in range(2))
    await asyncio.gather(first.run(), second.run(), first.run())
    events = await sla_events(clocked)
    assert sorted(e[1] for e in events) == sorted(ids)
    assert {e[0] for e in events} == {"sla.warning"}
