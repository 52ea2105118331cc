"""The event bus under a real `desk run` with steady customer load: events keep reaching the operator's
socket across a PostgreSQL restart, and while a long write transaction (another program's) holds the
horizon the desk logs a warning naming it and /healthz shows `events` delayed, then held; once it
commits, every held message arrives — each customer message on the socket exactly once, in id order."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from tests.botapi import TelegramServer
from tests.drills.load import Load, on_duty
from tests.drills.operator import Socket
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess
from tests.waiting import running

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CUSTOMERS = 4
HOLD = 12.0  # longer than 3 s (the warning) and than HEALTH_GRACE_SECONDS (5 s: `held`)
HOLDER = "drill-long-writer"


async def states_while_held(desk: DeskProcess, seconds: float) -> list[str]:
    """The `events` component's words seen on /healthz during the hold, in order, without repeats."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = await desk.healthz()
        word = answer[1]["components"].get("events") if answer is not None else None
        if word is not None and (not seen or seen[-1] != word):
            seen.append(word)
        await asyncio.sleep(0.25)
    return seen


async def test_events_flow_across_a_restart_and_wait_out_a_long_writer(
    start_desk: Callable[[], DeskProcess], telegram: TelegramServer, drill_db: str,
    external_pg: ExternalPostgres, cpu_burner: object,
) -> None:
    desk = start_desk()
    await desk.wait_healthy()
    async with on_duty(desk, telegram, CUSTOMERS) as (load, socket):
        async with running(load.run()) as (load_task,):
            await asyncio.sleep(2.0)
            await asyncio.to_thread(external_pg.stop)  # a restart under load
            await asyncio.sleep(3.0)
            await asyncio.to_thread(external_pg.start)
            await desk.wait_for(all_seen(socket, load, time.monotonic() - 1.0), "caught up after restart", 60)

            holder = await asyncpg.connect(drill_db, server_settings={"application_name": HOLDER})
            transaction = holder.transaction()
            await transaction.start()
            await holder.fetchval("SELECT pg_current_xact_id()")  # a write transaction: it holds an xid
            held_from = time.monotonic()
            await asyncio.sleep(0.5)
            seen_before = len(socket.created())
            states = await states_while_held(desk, HOLD)
            seen_during = len(socket.created()) - seen_before
            written_during = [body for body, at in load.written.items() if at >= held_from + 0.5]
            await transaction.commit()
            await holder.close()
            released = time.monotonic()
            arrived_in = await desk.wait_for(all_seen(socket, load, released), "held messages arrive", 30)
            after = await states_while_held(desk, 1.0)
            load.stopping.set()
            await asyncio.wait_for(load_task, 120)
        await desk.wait_for(all_seen(socket, load, time.monotonic()), "every message on the socket", 60)
        await asyncio.sleep(1.0)  # room for a late duplicate

        ids = [frame["id"] for frame in socket.frames if "id" in frame]
        live = Counter(socket.bodies())
        warnings = [line for line in desk.log.splitlines() if "events held back by a long write transaction" in line]
        print(f"\n{len(load.written)} customer messages; {len(written_during)} written during the {HOLD:.0f} s hold, "
              f"{seen_during} reached the socket meanwhile; /healthz events during the hold {states}, after {after}; "
              f"all held ones arrived {arrived_in:.2f} s after the commit; {len(socket.connects)} socket connection(s)")
        problems: dict[str, object] = {
            "no customer message written during the hold": not written_during,
            "messages delivered while the horizon was held": seen_during,
            "/healthz did not show delayed then held": states[-2:] != ["delayed", "held"],
            "/healthz events not ok after the hold": after[-1:] != ["ok"],
            "no warning naming the holder": not any(HOLDER in line for line in warnings),
            "more than one warning for one hold": len(warnings) > 1,
            "held messages took over 2 s after the commit": arrived_in > 2.0,
            "customer messages not on the socket exactly once": {b: live[b] for b in load.written if live[b] != 1},
            "socket event ids repeated or out of order": [] if ids == sorted(set(ids)) else ids,
        }
        code = await desk.stop()
        problems["Ctrl-C exit code"] = code
        assert not {what: found for what, found in problems.items() if found}, desk.tail(25)


def all_seen(socket: Socket, load: Load, until: float) -> Callable[[], Awaitable[bool]]:
    """Every customer message written before `until` is on the socket."""

    async def check() -> bool:
        seen = set(socket.bodies())
        return all(body in seen for body, at in load.written.items() if at < until)

    return check
