"""The staff group through a real `desk run` beside a busy CPU: three customers' tickets each get a
topic; the customers keep writing while Telegram answers 500 to every send into the group for a while
(with its flood limits on: 20 a minute into a group) and PostgreSQL stops for 6 s; once that settled,
the desk is killed (SIGKILL) and started again while they write on. Afterwards every customer line is
in its ticket's topic, a staff reply written in a topic reached its customer once, nothing went to the
dead letters, and Ctrl-C exits 0."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable

import asyncpg
import pytest

from tests.botapi import TelegramServer
from tests.drills.customers import dead_letters, hand_off
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess, create_admin
from web.sandbox.limits import RateLimits

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CUSTOMERS = 3
GROUP_500 = 4.0
DATABASE_AWAY = 6.0
SETTLE_WITHIN = 80.0
UNSENT = "SELECT kind, state, attempts, last_error FROM outbox WHERE order_key LIKE 'sg:%' AND state <> 'sent'"


async def _sql(dsn: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def _threads(dsn: str) -> dict[int, int]:
    rows = await _sql(dsn, "SELECT ticket_id, thread_id FROM ticket_topic WHERE thread_id IS NOT NULL")
    return {row["ticket_id"]: row["thread_id"] for row in rows}


def _lines_in_topics(telegram: TelegramServer, group_id: int) -> Counter[tuple[int, str]]:
    """(thread, customer line) for every line the group's messages show now (a post edited in place to
    append a burst counts once)."""
    seen: Counter[tuple[int, str]] = Counter()
    for (chat_id, _), message in list(telegram.messages.items()):
        if chat_id == group_id:
            for line in re.findall(r"C\d line \d+", message.get("text", "")):
                seen[(message.get("message_thread_id"), line)] += 1
    return seen


async def test_staff_group_drill(start_desk: Callable[..., DeskProcess], telegram: TelegramServer, drill_db: str,
                                 external_pg: ExternalPostgres, cpu_burner: object) -> None:
    desk = start_desk()
    await desk.wait_healthy()
    await create_admin(desk.env)
    admin = telegram.user("Alla")
    await _sql(drill_db, "UPDATE operator SET telegram_user_id = $1", admin.id)
    group = telegram.group("Staff")
    await telegram.post(admin, group, "/link_staff_group")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == group.id and "Linked" in c.text, timeout=30)
    customers = [telegram.user(f"C{i}") for i in range(CUSTOMERS)]
    tickets = list(await asyncio.gather(*(hand_off(telegram, customer) for customer in customers)))
    ticket_of = {customer.id: ticket for customer, ticket in zip(customers, tickets, strict=True)}
    await desk.wait_for(lambda: _all_topics(drill_db, len(tickets)), "every ticket has its topic", 30)
    telegram.limits = RateLimits()

    written: list[tuple[int, str]] = []

    async def write(rounds: range) -> None:
        for n in rounds:
            for customer in customers:
                line = f"{customer.first_name} line {n}"
                await telegram.send(customer, line)
                written.append((ticket_of[customer.id], line))
            await asyncio.sleep(0.25)

    await write(range(4))
    group_500 = telegram.fail("sendMessage", 500, seconds=GROUP_500, match=lambda p: int(p["chat_id"]) < 0)
    await write(range(4, 10))
    await asyncio.to_thread(external_pg.stop)
    await write(range(10, 14))
    await asyncio.sleep(DATABASE_AWAY - 1.0)
    await asyncio.to_thread(external_pg.start)
    await write(range(14, 18))
    threads = await _threads(drill_db)
    first = customers[0]
    missing: list[tuple[int, str]] = []
    replies: list[str] = []

    async def settled() -> bool:
        nonlocal missing
        threads.update(await _threads(drill_db))
        seen = _lines_in_topics(telegram, group.id)
        missing = [(t, line) for t, line in written if not seen[(threads.get(t), line)]]
        replied = [c for c in telegram.calls_of("sendMessage") if c.chat_id == first.id and "We are on it" in c.text]
        return not missing and len(replied) == len(replies)

    async def settle(what: str, within: float) -> float:
        try:
            return await desk.wait_for(settled, what, within)
        except AssertionError as error:
            calls = [(c.method, c.status, c.params.get("message_thread_id"), c.text[:40]) for c in telegram.calls
                     if c.chat_id == group.id][-15:]
            rows = [dict(r) for r in await _sql(drill_db, UNSENT)]
            raise AssertionError(f"missing in topics: {missing[:10]}\nthe group's last calls: {calls}\n"
                                 f"outbox: {rows[:12]}\n{error}") from None

    after_faults = await settle("every line in its topic after Telegram's 500s and the database outage",
                                SETTLE_WITHIN)
    desk.kill()
    desk = start_desk()
    await write(range(18, 22))
    await telegram.post(admin, group, "We are on it", thread_id=threads[ticket_of[first.id]])
    replies.append("We are on it")
    after_kill = await settle("every line in its topic and the staff reply delivered after SIGKILL", SETTLE_WITHIN)
    await asyncio.sleep(1.0)
    seen = _lines_in_topics(telegram, group.id)
    twice = {key: n for key, n in seen.items() if n > 1}
    posts = [c for c in telegram.calls_of("sendMessage") if c.chat_id == group.id]
    edits = [c for c in telegram.calls_of("editMessageText") if c.chat_id == group.id]
    refused = Counter(c.status for c in telegram.calls if c.chat_id == group.id and not c.ok and c.status)
    print(f"\nstaff group drill: {len(written)} customer lines -> {len(posts)} posts and {len(edits)} edits in "
          f"{len(tickets)} topics; "
          f"answered at the server: 500 x{group_500.hits}, refusals {dict(refused)}; "
          f"lines shown twice (SIGKILL between a post and its record): {len(twice)}; settled {after_faults:.1f} s "
          f"after the faults, {after_kill:.1f} s after the restart")
    problems: dict[str, object] = {
        "group fault not exercised": not group_500.hits,
        "topics made more than once": len(telegram.calls_of("createForumTopic")) != len(tickets),
        "staff reply sent more than once": len([c for c in telegram.calls_of("sendMessage")
                                                if c.chat_id == first.id and "We are on it" in c.text]) != 1,
        "dead letters": await dead_letters(drill_db),
    }
    code = await desk.stop()
    problems["Ctrl-C exit code"] = code
    assert not {what: found for what, found in problems.items() if found}, desk.tail(25)


async def _all_topics(dsn: str, count: int) -> bool:
    return len(await _threads(dsn)) == count
