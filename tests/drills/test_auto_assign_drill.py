"""Auto-assignment through a real `desk run` beside a busy CPU (AUTO_ASSIGN_MAX_OPEN=2, a pass every
second): two members with their panels open (a heartbeat the drill writes), three customers hand off
and get an operator at once; two more ask while PostgreSQL is stopped for 6 s, and once it is back one
of them gets the operator with room and the other waits at the cap until a ticket is closed, when the
leader's pass gives it out. Every ticket was given once, nobody holds more than the cap, nothing went
to the dead letters, and SIGTERM exits 0."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable

import asyncpg
import pytest

from tests.botapi import TelegramServer
from tests.drills.customers import dead_letters, hand_off
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess, create_admin

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CAP = 2
OUTAGE = 6.0
HEARTBEAT = ("INSERT INTO operator_presence (operator_id) SELECT id FROM operator "
             "ON CONFLICT (operator_id) DO UPDATE SET last_seen_at = now(), left_at = NULL")


async def _sql(dsn: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def _heartbeat(dsn: str) -> None:
    """The members' open panels: the presence heartbeat, waited out while the database is away."""
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            await _sql(dsn, HEARTBEAT)
        await asyncio.sleep(2.0)


async def _owners(dsn: str) -> dict[int, int | None]:
    rows = await _sql(dsn, "SELECT id, assignee_id FROM ticket WHERE status <> 'closed'")
    return {row["id"]: row["assignee_id"] for row in rows}


async def test_auto_assignment_across_a_database_restart(
    start_desk: Callable[..., DeskProcess], telegram: TelegramServer, drill_db: str,
    external_pg: ExternalPostgres, cpu_burner: object,
) -> None:
    desk = start_desk(AUTO_ASSIGN_SECONDS="1", AUTO_ASSIGN_MAX_OPEN=str(CAP))
    await desk.wait_healthy()
    await create_admin(desk.env)
    await _sql(drill_db, "INSERT INTO operator (email, password_hash, display_name, role) "
                         "VALUES ('boris@example.com', 'x', 'Boris', 'operator')")
    await _sql(drill_db, "UPDATE queue SET auto_assign = true")
    await _sql(drill_db, "INSERT INTO queue_member (queue_id, operator_id) SELECT q.id, o.id FROM queue q, operator o")
    heartbeat = asyncio.ensure_future(_heartbeat(drill_db))
    try:
        customers = [telegram.user(f"C{i}") for i in range(5)]
        first = [await hand_off(telegram, customer) for customer in customers[:3]]

        async def three_given() -> bool:  # the bot answers before its update's transaction commits
            found = await _owners(drill_db)
            return len(found) == 3 and None not in found.values()
        await desk.wait_for(three_given, "the first three tickets given", 30)
        assert sorted(Counter((await _owners(drill_db)).values()).values()) == [1, 2]

        await asyncio.to_thread(external_pg.stop)
        later = asyncio.gather(*(hand_off(telegram, customer, timeout=120) for customer in customers[3:]))
        await asyncio.sleep(OUTAGE)
        await asyncio.to_thread(external_pg.start)
        await later

        async def one_waits() -> bool:
            found = await _owners(drill_db)
            return len(found) == 5 and list(found.values()).count(None) == 1
        await desk.wait_for(one_waits, "four tickets given, one waiting at the cap", 60)
        held = Counter(o for o in (await _owners(drill_db)).values() if o is not None)
        assert sorted(held.values()) == [CAP, CAP], held

        await _sql(drill_db, "UPDATE ticket SET status = 'closed', closed_at = now() WHERE id = $1", first[0])

        async def all_given() -> bool:
            return None not in (await _owners(drill_db)).values()
        await desk.wait_for(all_given, "the waiting ticket given once a ticket closed", 30)
        held = Counter((await _owners(drill_db)).values())
        audited = Counter(row["object_id"] for row in await _sql(
            drill_db, "SELECT object_id FROM audit_log WHERE action = 'ticket.assignee_id'"))
        problems = {
            "over the cap": {op: n for op, n in held.items() if n > CAP},
            "given more than once": {ticket: n for ticket, n in audited.items() if n != 1},
            "not audited": len(audited) != 5,
            "dead letters": await dead_letters(drill_db),
        }
        assert not {what: found for what, found in problems.items() if found}, (problems, desk.tail(30))
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    assert await desk.stop() == 0
