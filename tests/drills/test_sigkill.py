"""A desk SIGKILLed while it holds an outbox row (a Telegram call hanging) leaves the row `sending` under
its lease. The next desk must take it as soon as it knows the old process is gone — not after the
120 s lease — and deliver it once."""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg
import pytest

from tests.botapi import TelegramServer
from tests.drills.customers import hand_off
from tests.drills.operator import Operator
from tests.drills.process import DeskProcess, create_admin
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

RECLAIMED_WITHIN = 15.0  # the lease is 120 s


async def sending_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox WHERE state = 'sending'")
    finally:
        await conn.close()


async def test_sigkill_reclaims_the_dead_workers_leases(
    start_desk: Callable[[], DeskProcess], telegram: TelegramServer, drill_db: str
) -> None:
    first = start_desk()
    await first.wait_healthy()
    await create_admin(first.env)
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna)
    telegram.delay("sendMessage", 60, match=lambda params: str(params.get("chat_id")) == str(anna.id))

    body = "Your parcel left the warehouse."
    operator = Operator(first)
    try:
        await operator.login()
        reply = await operator.reply(ticket_id, body)
    finally:
        await operator.close()
    assert reply.status == 201, reply

    def to_anna(call: object) -> bool:
        return str(call.chat_id) == str(anna.id) and call.text.startswith(body)  # type: ignore[attr-defined]

    await eventually(lambda: any(to_anna(c) and c.status == 0 for c in telegram.calls), timeout=15)
    hung = [c for c in telegram.calls if to_anna(c)]
    await eventually(lambda: sending_rows_are(drill_db, 1), timeout=5)
    first.process.kill()
    first.process.wait(10)
    killed_at = time.monotonic()

    second = start_desk()
    healthy = await second.wait_healthy()
    try:
        delivered = await telegram.wait_for_call("sendMessage", lambda c: to_anna(c) and c not in hung,
                                                 timeout=RECLAIMED_WITHIN)
    except AssertionError:
        raise AssertionError(f"the dead worker's row was not delivered within {RECLAIMED_WITHIN} s of the new "
                             f"desk answering ({await sending_rows(drill_db)} row(s) still 'sending'): it waits "
                             "for the lease") from None
    since_healthy = delivered.at - (killed_at + healthy)
    print(f"\nafter SIGKILL: new desk healthy in {healthy:.1f} s, the dead worker's row delivered "
          f"{delivered.at - killed_at:.1f} s after the kill, {since_healthy:.1f} s after the new desk answered")
    await eventually(lambda: sending_rows_are(drill_db, 0), timeout=5)
    sent = [c for c in telegram.calls_of("sendMessage") if to_anna(c) and c not in hung]
    assert len(sent) == 1, [c.text for c in sent]
    assert since_healthy < RECLAIMED_WITHIN, "the row waited for the dead worker's lease"
    assert await second.stop() == 0, second.tail()


async def sending_rows_are(dsn: str, count: int) -> bool:
    return await sending_rows(dsn) == count
