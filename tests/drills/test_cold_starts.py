"""Ten cold starts of `desk run` in a row beside a busy CPU: each time the LISTEN connection is up within
seconds, so an operator's reply reaches Telegram through NOTIFY (not on the outbox's 5 s idle timer)
and the operator's socket gets the event; Ctrl-C then exits 0."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from tests.botapi import TelegramServer, TgUser
from tests.drills.customers import hand_off
from tests.drills.operator import Operator, Socket
from tests.drills.process import DeskProcess, create_admin
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]

STARTS = 10
LISTENER_WITHIN = 5.0  # after /healthz first answers 200
LIVE_REPLY_WITHIN = 2.0  # the outbox's idle timer is 5 s: a reply sooner than this came through NOTIFY


async def listener_sessions(dsn: str) -> int:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'desk-listener'"
                                   " AND datname = current_database()")
    finally:
        await conn.close()


async def one_listener(dsn: str) -> bool:
    return await listener_sessions(dsn) == 1


async def live_reply(desk: DeskProcess, telegram: TelegramServer, customer: TgUser, ticket_id: int,
                     body: str) -> tuple[float, bool]:
    """The operator replies through the API: seconds from its 201 to Telegram's sendMessage, and whether
    the operator's socket got the reply's message.created."""
    operator = Operator(desk)
    socket = Socket(desk, operator.http)
    try:
        await operator.login()
        await socket.open()
        mark = telegram.mark()
        reply = await operator.reply(ticket_id, body)
        assert reply.status == 201, reply
        call = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == customer.id
                                            and c.text.startswith(body), since=mark, timeout=15)
        try:
            await eventually(lambda: body in socket.bodies(), timeout=5)
        except AssertionError:
            return call.at - reply.answered_at, False
        return call.at - reply.answered_at, True
    finally:
        await socket.close()
        await operator.close()


async def within(wait: Awaitable[float]) -> float | None:
    """The seconds a wait took, or None when it timed out."""
    try:
        return await wait
    except AssertionError:
        return None


@dataclass
class ColdStart:
    number: int
    healthy: float
    listener: float | None = None  # seconds after /healthz first answered 200
    listener_session: bool = False
    reply: float = 0.0
    socket_event: bool = False
    exit_code: int | None = None
    tracebacks: int = 0

    def faults(self) -> list[str]:
        found = [what for what, bad in [
            (f"listener not ok within {LISTENER_WITHIN} s", self.listener is None),
            ("no desk-listener session in pg_stat_activity", not self.listener_session),
            (f"reply took {self.reply:.1f} s (outbox timer, not NOTIFY)", self.reply >= LIVE_REPLY_WITHIN),
            ("no message.created on the socket", not self.socket_event),
            (f"Ctrl-C exit code {self.exit_code}", self.exit_code != 0),
            (f"{self.tracebacks} tracebacks in the log", self.tracebacks > 0),
        ] if bad]
        return found

    def __str__(self) -> str:
        listener = "never" if self.listener is None else f"{self.listener:.2f} s later"
        return (f"start {self.number}: /healthz 200 after {self.healthy:.2f} s, listener ok {listener}, reply on "
                f"Telegram {self.reply:.2f} s after its 201, exit {self.exit_code}")


async def test_cold_starts_under_load_bring_the_listener_up(
    start_desk: Callable[[], DeskProcess], telegram: TelegramServer, drill_db: str, cpu_burner: object
) -> None:
    anna = telegram.user("Anna")
    ticket_id = 0
    starts = []
    for number in range(1, STARTS + 1):
        desk = start_desk()
        start = ColdStart(number, await desk.wait_healthy())
        if number == 1:
            await create_admin(desk.env)
            ticket_id = await hand_off(telegram, anna)
        start.listener = await within(desk.wait_listener(timeout=LISTENER_WITHIN))
        start.listener_session = await within(
            eventually(lambda: one_listener(drill_db), timeout=LISTENER_WITHIN)) is not None
        start.reply, start.socket_event = await live_reply(desk, telegram, anna, ticket_id,
                                                           f"cold start {number}: we are on it")
        start.exit_code = await desk.stop()
        start.tracebacks = desk.log.count("Traceback")
        starts.append(start)
        print(start, "; ".join(start.faults()), flush=True)
    print(f"{STARTS} cold starts under CPU load: slowest /healthz {max(s.healthy for s in starts):.2f} s, "
          f"slowest reply {max(s.reply for s in starts):.2f} s")
    assert not {s.number: s.faults() for s in starts if s.faults()}
