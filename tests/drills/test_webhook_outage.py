"""`desk run` taking updates by webhook while PostgreSQL is stopped for 6 s with customers writing: the
webhook answers 503 for what it cannot store (Telegram — here the test server — sends it again), and
once the database is back every update is stored exactly once, nothing went to the dead letters, and
Ctrl-C exits 0."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import asyncpg
import pytest

from tests.botapi import TelegramServer
from tests.drills.customers import dead_letters, hand_off, stored_bodies
from tests.drills.load import Load
from tests.drills.operator import Operator
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess, create_admin

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CUSTOMERS = 6
OUTAGE = 6.0
LOAD_BEFORE = 2.0
LOAD_AFTER = 3.0
SETTLE_WITHIN = 60.0


async def caught_up_after(dsn: str, load: Load, back_at: float, seconds: float) -> float | None:
    """Watch for `seconds`: when (after `back_at`) every message written before it was stored, if it was."""
    before = [body for body, at in load.written.items() if at < back_at]
    while (elapsed := time.monotonic() - back_at) < seconds:
        try:
            stored = await stored_bodies(dsn, "customer")
        except (OSError, asyncpg.PostgresError):
            stored = {}
        if all(body in stored for body in before):
            return elapsed
        await asyncio.sleep(0.2)
    return None


async def test_webhook_outage(
    start_desk: Callable[..., DeskProcess], telegram: TelegramServer, drill_db: str,
    external_pg: ExternalPostgres, cpu_burner: object,
) -> None:
    desk = start_desk(webhook=True)
    await desk.wait_healthy()

    async def webhook_registered() -> bool:
        answer = await desk.healthz()
        return answer is not None and answer[1]["components"].get("bot") == "webhook" and telegram.webhook is not None
    await desk.wait_for(webhook_registered, "components.bot webhook", 30)
    await create_admin(desk.env)
    customers = [telegram.user(f"Customer{i}") for i in range(CUSTOMERS)]
    tickets = list(await asyncio.gather(*(hand_off(telegram, customer) for customer in customers)))
    operator = Operator(desk)  # the load's customers only: nobody replies in this drill
    load = Load(telegram, operator, customers, tickets)
    writing = asyncio.gather(*(load.customer(i) for i in range(CUSTOMERS)))
    try:
        await asyncio.sleep(LOAD_BEFORE)
        attempts_before = len(telegram.webhook_attempts)
        await asyncio.to_thread(external_pg.stop)
        stopped_at = time.monotonic()
        await asyncio.sleep(OUTAGE)
        await asyncio.to_thread(external_pg.start)
        back_at = time.monotonic()
        caught_up = await caught_up_after(drill_db, load, back_at, LOAD_AFTER)
    finally:
        load.stopping.set()
        await asyncio.wait_for(writing, 60)
        await operator.close()

    gaps: dict[str, object] = {}

    async def settled() -> bool:
        nonlocal gaps
        stored = await stored_bodies(drill_db, "customer")
        answer = await desk.healthz()
        gaps = {
            "customer messages not stored": [b for b in load.written if b not in stored][:8],
            "updates not answered 200": len(telegram.updates),
            "healthz": None if answer and answer[0] == 200 and answer[1]["components"].get("bot") == "webhook"
            else answer,
        }
        gaps = {what: found for what, found in gaps.items() if found}
        return not gaps

    try:
        took = await desk.wait_for(settled, "every update stored after the outage", SETTLE_WITHIN)
    except AssertionError as error:
        raise AssertionError(f"not settled: {gaps}\n{error}") from None
    await asyncio.sleep(1.0)  # room for a late duplicate to show up

    stored = await stored_bodies(drill_db, "customer")
    during = telegram.webhook_attempts[attempts_before:]
    statuses = Counter(a.status for a in during)
    refused = {a.update_id for a in during if a.status == 503}
    during_outage = [b for b, at in load.written.items() if stopped_at <= at < back_at]
    print(f"\nwebhook outage {OUTAGE:g} s: {len(load.written)} customer messages ({len(during_outage)} during the "
          f"outage), webhook attempts from the stop on {dict(statuses)}, {len(refused)} update(s) refused with 503 "
          f"and sent again; what was written before PostgreSQL was back stored "
          f"{'later than ' + str(LOAD_AFTER) if caught_up is None else f'{caught_up:.1f}'} s after it was back "
          f"(all settled {took:.1f} s after the load ended)")
    problems: dict[str, object] = {
        "no 503 from the webhook during the outage": not refused,
        "webhook answers other than 200/503": {s: n for s, n in statuses.items() if s not in (200, 503)},
        "customer messages not stored exactly once": {b: stored.get(b, 0) for b in load.written if stored.get(b) != 1},
        "no customer message written during the outage": not during_outage,
        "dead letters": await dead_letters(drill_db),
    }
    code = await desk.stop()
    problems["Ctrl-C exit code"] = code
    assert not {what: found for what, found in problems.items() if found}, desk.tail(25)
