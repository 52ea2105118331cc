"""Ten cold starts of `desk run` in a row beside a busy CPU: each time the LISTEN connection is up within
seconds, so an operator's reply reaches Telegram through NOTIFY (not on the outbox's 5 s idle timer)
and the operator's socket gets the event; Ctrl-C then exits 0."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest

from tests.botapi import TelegramServer, TgUser
from tests.drills.customers import hand_off
from tests.drills.operator import Operator, Socket
from tests.drills.process import DeskProcess, create_admin
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

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
                     body: str) -> float:
    """The operator replies through the API; seconds from its 201 to Telegram's sendMessage. The
    operator's socket must get the reply's message.created."""
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
        await eventually(lambda: body in socket.bodies(), timeout=5)
        return call.at - reply.answered_at
    finally:
        await socket.close()
        await operator.close()


async def test_cold_starts_under_load_bring_the_listener_up(
    start_desk: Callable[[], DeskProcess], telegram: TelegramServer, drill_db: str, cpu_burner: object
) -> None:
    anna = telegram.user("Anna")
    ticket_id = 0
    figures = []
    for start in range(1, STARTS + 1):
        desk = start_desk()
        healthy = await desk.wait_healthy()
        print(f"start {start}: /healthz 200 after {healthy:.2f} s", flush=True)
        if start == 1:
            await create_admin(desk.env)
            ticket_id = await hand_off(telegram, anna)
        listening = await desk.wait_listener(timeout=LISTENER_WITHIN)
        await eventually(lambda: one_listener(drill_db), timeout=LISTENER_WITHIN)

        latency = await live_reply(desk, telegram, anna, ticket_id, f"cold start {start}: we are on it")
        code = await desk.stop()
        figures.append((start, healthy, listening, latency))
        print(f"start {start}: listener ok {listening:.2f} s after that, reply on Telegram {latency:.2f} s "
              f"after its 201, Ctrl-C exit {code}")
        assert code == 0, desk.tail()
        assert latency < LIVE_REPLY_WITHIN, f"start {start}: the reply came on the outbox timer, not by NOTIFY"
        assert "Traceback" not in desk.log, desk.tail()
    slowest = max(figures, key=lambda f: f[3])
    print(f"{STARTS} cold starts: slowest healthz {max(f[1] for f in figures):.2f} s, slowest listener "
          f"{max(f[2] for f in figures):.2f} s, slowest reply {slowest[3]:.2f} s (start {slowest[0]})")
