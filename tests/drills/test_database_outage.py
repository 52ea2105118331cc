"""PostgreSQL stopped for 1, 6 and 30 seconds under a running desk with steady inbound load: afterwards
every customer message is stored once, every accepted operator reply reached Telegram once, the
operator's socket saw every customer message once and in order, /healthz is back with the listener
up — without restarting the desk, which then exits 0 on Ctrl-C."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import asyncpg
import pytest

from tests.botapi import Call, TelegramServer, TgUser
from tests.drills.customers import delivered_texts, stored_bodies
from tests.drills.load import Load, on_duty
from tests.drills.operator import Operator, Socket
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess
from tests.waiting import eventually, running

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CUSTOMERS = 10
LOAD_BEFORE = 2.0
LOAD_AFTER = 4.0
SETTLE_WITHIN = 60.0


def reply_deliveries(telegram: TelegramServer, bodies: list[str]) -> Counter[str]:
    texts = delivered_texts(telegram)
    return Counter(body for body in bodies for text in texts if text.startswith(body))


async def outbox_busy(dsn: str) -> list[str]:
    """Outbox rows still to be delivered, described for a failure message."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT id, kind, idempotency_key, state, attempts, last_error, claimed_by,"
            " round(extract(epoch FROM next_attempt_at - now())) AS due_in,"
            " round(extract(epoch FROM locked_until - now())) AS lease_left"
            " FROM outbox WHERE state IN ('pending', 'sending') ORDER BY id")
    finally:
        await conn.close()
    return [str(dict(row)) for row in rows]


class Recovery:
    """Seconds after PostgreSQL came back until each part caught up with what happened before that."""

    def __init__(self, desk: DeskProcess, telegram: TelegramServer, load: Load, socket: Socket, dsn: str) -> None:
        self.desk, self.telegram, self.load, self.socket, self.dsn = desk, telegram, load, socket, dsn
        self.back_at = time.monotonic()
        self.seconds: dict[str, float] = {}
        self.errors: list[str] = []

    async def watch(self) -> None:
        while len(self.seconds) < 4:
            await self.check()
            await asyncio.sleep(0.1)

    async def check(self) -> None:
        """Record each part that has caught up since the last check."""
        before = [body for body, at in self.load.written.items() if at < self.back_at]
        checks = {"healthz": self._healthy, "stored": lambda: self._stored(before),
                  "socket": lambda: self._seen(before), "replies": self._replied}
        for name, check in checks.items():
            if name not in self.seconds:
                try:
                    if await check():
                        self.seconds[name] = time.monotonic() - self.back_at
                except (OSError, asyncpg.PostgresError) as error:
                    self.errors.append(f"{name}: {error!r}")

    async def _healthy(self) -> bool:
        answer = await self.desk.healthz()
        return answer is not None and answer[0] == 200 and answer[1]["components"].get("listener") == "ok"

    async def _stored(self, bodies: list[str]) -> bool:
        stored = await stored_bodies(self.dsn, "customer")
        return all(body in stored for body in bodies)

    async def _seen(self, bodies: list[str]) -> bool:
        seen = set(self.socket.bodies())
        return all(body in seen for body in bodies)

    async def _replied(self) -> bool:
        """Every reply the operator began before the database was back is accepted and on Telegram."""
        early = [body for body, started in self.load.composed.items() if started < self.back_at]
        accepted = set(self.load.accepted())
        delivered = reply_deliveries(self.telegram, early)
        return all(body in accepted and delivered[body] for body in early)


IN_FLIGHT = "Sent as the database went away."


async def reply_in_flight(telegram: TelegramServer, operator: Operator, customer: TgUser, ticket_id: int,
                          seconds: float) -> None:
    """A reply whose sendMessage is still running when PostgreSQL stops: its outcome must be recorded once
    the database is back (no second send, no wait for the row's lease)."""
    telegram.delay("sendMessage", seconds, match=lambda params: str(params.get("text", "")).startswith(IN_FLIGHT))
    reply = await operator.reply(ticket_id, IN_FLIGHT)
    assert reply.status == 201, reply

    def hanging() -> Call | None:
        return next((c for c in telegram.calls if c.text.startswith(IN_FLIGHT) and c.status == 0), None)

    await eventually(lambda: hanging() is not None, timeout=15)
    call = hanging()
    assert call is not None and str(call.chat_id) == str(customer.id)


async def health_while_down(desk: DeskProcess, seconds: float) -> float | None:
    """Watch /healthz for the outage; when it first answered 503 (seconds into the outage), if it did."""
    started = time.monotonic()
    first_503 = None
    while (elapsed := time.monotonic() - started) < seconds:
        answer = await desk.healthz()
        if first_503 is None and answer is not None and answer[0] == 503:
            first_503 = elapsed
        await asyncio.sleep(min(0.25, max(0.0, seconds - elapsed)))
    return first_503


async def missing(desk: DeskProcess, telegram: TelegramServer, load: Load, socket: Socket, dsn: str) -> dict:
    """What has not caught up yet; empty once everything is stored, sent and seen."""
    stored = await stored_bodies(dsn, "customer")
    replies = reply_deliveries(telegram, load.accepted())
    seen = set(socket.bodies())
    answer = await desk.healthz()
    gaps = {
        "customer messages not stored": [body for body in load.written if body not in stored],
        "accepted replies not on Telegram": [body for body in load.accepted() if not replies[body]],
        "customer messages not on the socket": [body for body in load.written if body not in seen],
        "updates not confirmed to Telegram": len(telegram.updates),
        "outbox rows pending or sending": await outbox_busy(dsn),
        "healthz": None if answer and answer[0] == 200 and answer[1]["components"].get("listener") == "ok"
        else answer,
    }
    return {what: found for what, found in gaps.items() if found}


async def settle(desk: DeskProcess, telegram: TelegramServer, load: Load, socket: Socket, dsn: str) -> None:
    gaps: dict = {}

    async def done() -> bool:
        nonlocal gaps
        gaps = await missing(desk, telegram, load, socket, dsn)
        return not gaps

    try:
        await desk.wait_for(done, "everything delivered after the outage", SETTLE_WITHIN)
    except AssertionError as error:
        short = {what: found[:8] if isinstance(found, list) else found for what, found in gaps.items()}
        raise AssertionError(f"not settled {SETTLE_WITHIN} s after the load: {short}\n{error}") from None


@pytest.mark.parametrize("outage", [1, 6, 30], ids=lambda n: f"{n}s")
async def test_database_outage(
    outage: int, start_desk: Callable[[], DeskProcess], telegram: TelegramServer, drill_db: str,
    external_pg: ExternalPostgres, cpu_burner: object,
) -> None:
    desk = start_desk()
    await desk.wait_healthy()
    async with on_duty(desk, telegram, CUSTOMERS) as (load, socket):
        async with running(load.run()) as (load_task,):
            await asyncio.sleep(LOAD_BEFORE)
            await reply_in_flight(telegram, load.operator, load.customers[0], load.tickets[0], 1.0 + outage / 2)
            await asyncio.to_thread(external_pg.stop)
            await socket.drop()  # the operator's browser loses its socket too: it reconnects and resumes
            unhealthy_after = await health_while_down(desk, outage)
            await asyncio.to_thread(external_pg.start)
            recovery = Recovery(desk, telegram, load, socket, drill_db)
            async with running(recovery.watch()):
                await asyncio.sleep(LOAD_AFTER)
                load.stopping.set()
                await asyncio.wait_for(load_task, 120)
                await settle(desk, telegram, load, socket, drill_db)
                await recovery.check()  # what caught up last, between the watch's checks
        await asyncio.sleep(1.0)  # room for a late duplicate to show up

        stored = await stored_bodies(drill_db, "customer")
        replies = reply_deliveries(telegram, load.accepted())
        frames = [frame for frame in socket.frames if "id" in frame]
        ids = [frame["id"] for frame in frames]
        live = Counter(socket.bodies())
        waits = sorted({refusal[2].split(":")[0] for refusal in load.operator.refusals})
        recovered = ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(recovery.seconds.items()))
        print(f"\noutage {outage} s: {len(load.written)} customer messages, {len(load.accepted())} replies accepted "
              f"(median answer {load.median_reply_seconds():.2f} s; {len(load.operator.refusals)} answers 503 or "
              f"unreachable waited out, {waits}), {len(socket.connects)} socket connection(s); /healthz 503 from "
              f"{unhealthy_after if unhealthy_after is None else round(unhealthy_after, 1)} s into the outage; "
              f"caught up after PostgreSQL was back (s): {recovered}"
              + (f"; check errors {recovery.errors[-3:]}" if recovery.errors else ""))
        problems: dict[str, object] = {
            "reply in flight at the stop not sent exactly once": [c.status for c in telegram.calls
                                                                  if c.text.startswith(IN_FLIGHT)] != [200],
            "/healthz still 200 after 30 s without PostgreSQL": outage >= 30 and unhealthy_after is None,
            "replies refused for good (not 201)": [(r.body, r.status) for r in load.refused()],
            "customer messages not stored exactly once": {b: stored.get(b, 0) for b in load.written
                                                           if stored.get(b) != 1},
            "accepted replies not sent exactly once": {b: n for b, n in replies.items() if n != 1},
            "customer messages not on the socket exactly once": {b: live[b] for b in load.written if live[b] != 1},
            "socket event ids repeated or out of order": [] if ids == sorted(set(ids)) else ids,
            "log lines 'update given up'": desk.log.count("update given up"),
            "the dropped socket did not reconnect": len(socket.connects) < 2,
        }
        code = await desk.stop()
        problems["Ctrl-C exit code"] = code
        assert not {what: found for what, found in problems.items() if found}, desk.tail(25)
