"""SLA report numbers (one core query for the dashboard and `desk report sla`), admin edits and
their permission checks, and the CLI end to end."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import InvalidInput, NotAllowed
from core.models import Operator, Queue, Ticket
from core.services import conversations, tickets
from core.sla import admin, policy, reports
from core.sla.policy import parse_duration
from tests.sla.clocks import ManualClock
from tests.sla.conftest import EVER, START, make_operator, open_ticket

ROOT = Path(__file__).resolve().parents[2]


async def reply(sessions: async_sessionmaker[AsyncSession], ticket_id: int, operator: Operator) -> None:
    async with sessions() as session, session.begin():
        await conversations.operator_replied(session, ticket_id=ticket_id, operator=operator, body="Hello")


async def status(sessions: async_sessionmaker[AsyncSession], ticket_id: int, new: str) -> None:
    async with sessions() as session, session.begin():
        await tickets.change_status(session, ticket_id, new, actor_kind="system", actor_id=None)


async def test_attainment_median_and_p90_per_priority_and_queue(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with clocked() as session, session.begin():
        operator = await make_operator(session)
    a = await open_ticket(clocked, priority="urgent", telegram_user_id=1)
    b = await open_ticket(clocked, priority="urgent", telegram_user_id=2)
    c = await open_ticket(clocked, priority="high", telegram_user_id=3)
    await open_ticket(clocked, priority="low", queue="billing", telegram_user_id=4)
    clock.set(START + timedelta(minutes=10))
    await reply(clocked, a, operator)
    clock.set(START + timedelta(minutes=20))
    await reply(clocked, b, operator)
    clock.set(START + timedelta(minutes=30))
    await reply(clocked, c, operator)
    await status(clocked, c, "waiting_customer")
    clock.set(START + timedelta(hours=3))
    await status(clocked, a, "closed")
    clock.set(START + timedelta(hours=5))
    async with clocked() as session:
        # created_at is the database's own time, not the test clock's: the window holds both.
        report = await reports.sla_report(session, since=START - timedelta(days=30), until=EVER, now=clock.now())
    by_priority = {line.key: line for line in report.group("priority")}
    assert list(by_priority) == ["urgent", "high", "low"]
    urgent = by_priority["urgent"]
    assert (urgent.tickets, urgent.frt_met, urgent.frt_judged) == (2, 1, 2)
    assert (urgent.frt_median, urgent.frt_p90) == (15 * 60, 19 * 60)
    assert (urgent.ttr_met, urgent.ttr_judged, urgent.ttr_median) == (1, 2, 3 * 3600)  # b is past 4 h, open
    assert urgent.frt_attainment == 0.5
    high = by_priority["high"]
    assert (high.frt_met, high.frt_judged, high.ttr_judged) == (1, 1, 0)  # waiting: its clock is paused
    low = by_priority["low"]
    assert (low.frt_judged, low.frt_attainment, low.frt_median) == (0, None, None)
    by_queue = {line.key: line for line in report.group("queue")}
    assert list(by_queue) == ["Technical support", "Billing"]
    assert (by_queue["Technical support"].frt_met, by_queue["Technical support"].frt_judged) == (2, 3)
    [total] = report.group("total")
    assert (total.tickets, total.frt_met, total.frt_judged, total.ttr_met, total.ttr_judged) == (4, 2, 3, 1, 2)
    table = reports.format_report(report)
    assert "urgent" in table and "1/2 (50%)" in table and "15m" in table and "3h 00m" in table


@pytest.mark.parametrize(("text", "minutes"), [("15m", 15), ("4h", 240), ("1d", 1440), ("1h30m", 90), ("45", 45)])
def test_durations_parse(text: str, minutes: int) -> None:
    assert parse_duration(text, "x") == minutes


@pytest.mark.parametrize("text", ["", "0m", "soon", "4 hours", "400d", "-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text, "resolution")


async def test_only_admins_edit_sla_settings_and_operators_may_read_them(
    clocked: async_sessionmaker[AsyncSession]
) -> None:
    async with clocked() as session, session.begin():
        admin_op = await make_operator(session, "admin@example.com", role="admin")
        operator = await make_operator(session, "op@example.com")
        partner = await make_operator(session, "partner@example.com", role="partner")
        queue = await session.get(Queue, 1)
        assert queue is not None
        with pytest.raises(NotAllowed):
            await admin.update_policy(session, operator, "urgent", first_response="5m", resolution="1h")
        with pytest.raises(NotAllowed):
            await admin.list_policies(session, partner)
        with pytest.raises(NotAllowed):
            await admin.set_queue_members(session, operator, queue.id, [operator.id])
        stored = await admin.update_policy(session, admin_op, "urgent", first_response="5m", resolution=120)
        assert (stored.first_response_minutes, stored.resolution_minutes) == (5, 120)
        with pytest.raises(InvalidInput):
            await admin.update_policy(session, admin_op, "urgent", first_response="5h", resolution="1h")
        await admin.update_hours(session, admin_op, queue.id, time_zone="Europe/Moscow",
                                 weekly={"mon": [["09:00", "18:00"]]})
        await admin.update_holidays(session, admin_op, queue.id, [("2026-12-31", "New Year's Eve")])
        with pytest.raises(InvalidInput):
            await admin.update_holidays(session, admin_op, queue.id, [("31.12.2026", "bad")])
        await admin.set_queue_members(session, admin_op, queue.id, [operator.id, admin_op.id])
        with pytest.raises(InvalidInput):
            await admin.set_queue_members(session, admin_op, queue.id, [partner.id])
        shown = await admin.queue_hours(session, operator, queue.id)
        members = await admin.queue_members(session, operator, queue.id)
        policies = {p.priority: p for p in await admin.list_policies(session, operator)}
    assert shown is not None and shown.time_zone == "Europe/Moscow" and len(shown.holidays) == 1
    assert {m.id for m in members} == {operator.id, admin_op.id}
    assert policies["urgent"].custom and not policies["low"].custom


def test_desk_sla_set_and_report_from_the_command_line(database_url: str, sessions: object) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}

    def desk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "desk.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)

    done = desk("sla", "set", "--priority", "high", "--first-response", "30m", "--resolution", "6h")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["high", "first", "response", "30m", "resolution", "6h", "00m", "(custom)"]
    bad = desk("sla", "set", "--priority", "high", "--first-response", "soon")
    assert bad.returncode == 2 and "duration must look like 15m" in bad.stderr  # refused by the parser
    shown = desk("sla", "show")
    assert "high    first response      30m" in shown.stdout
    report = desk("report", "sla", "--days", "30")
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("SLA report: tickets opened")
    assert "by priority" in report.stdout and "by queue" in report.stdout


async def test_desk_sla_recompute_applies_a_changed_policy_to_open_tickets_with_progress(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    opened = [await open_ticket(sessions, priority="high", telegram_user_id=7000 + n) for n in range(3)]
    closed = await open_ticket(sessions, priority="high", telegram_user_id=7100)
    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, closed)
        assert ticket is not None
        ticket.status = "closed"
        await policy.set_policy(session, "high", first_response_minutes=10, resolution_minutes=100, actor_id=None)
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "desk.py", "sla", "recompute"], cwd=ROOT,
                                   env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3 open tickets now have deadlines from the current policies and business hours.\n"
    assert "3/3" in done.stderr  # the progress bar
    async with sessions() as session:
        rows = {t.id: t for t in (await session.scalars(select(Ticket))).all()}
    for ticket_id in opened:
        ticket = rows[ticket_id]
        assert ticket.frt_due_at - ticket.sla_started_at == timedelta(minutes=10)  # type: ignore[operator]
        assert ticket.sla_revision == 1
    assert rows[closed].sla_revision == 0
