"""`desk run` reading a mailbox (pymap on loopback, plain IMAP) beside a busy CPU while PostgreSQL is
stopped for 6 s: mails appended before, during and after the outage each become one ticket with one
message once the database is back, nothing is quarantined or dead-lettered, /healthz shows
`components.mail` ok again, and Ctrl-C exits 0.

And `desk run` SIGKILLed while a group of mails is being written (its transaction open, some groups
already committed): the next `desk run` stores every mail exactly once and flags them all \\Seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from tests.botapi import TelegramServer
from tests.drills.customers import dead_letters
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess
from tests.mail.conftest import mail
from tests.mail.servers import PASSWORD, USER, ImapTestServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

OUTAGE = 6.0
SETTLE_WITHIN = 60.0


@pytest.fixture
async def imap_server() -> AsyncIterator[ImapTestServer]:
    server = ImapTestServer()
    await server.start()
    yield server
    await server.stop()


async def mail_tickets(dsn: str) -> dict[str, tuple[int, int]]:
    """subject -> (tickets with it, messages in them) for the email tickets."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT t.subject, count(DISTINCT t.id) AS tickets, count(m.id) AS messages FROM ticket t"
            " LEFT JOIN message m ON m.ticket_id = t.id AND m.author_kind = 'customer'"
            " WHERE t.channel = 'email' GROUP BY t.subject")
        quarantined = await conn.fetchval("SELECT count(*) FROM mail_quarantine")
    finally:
        await conn.close()
    found = {row["subject"]: (row["tickets"], row["messages"]) for row in rows}
    if quarantined:
        found["(quarantined)"] = (quarantined, 0)
    return found


async def test_mail_outage(
    start_desk: Callable[..., DeskProcess], telegram: TelegramServer, drill_db: str,
    external_pg: ExternalPostgres, imap_server: ImapTestServer, cpu_burner: object,
) -> None:
    desk = start_desk(IMAP_HOST="127.0.0.1", IMAP_PORT=str(imap_server.port), IMAP_USER=USER,
                      IMAP_PASSWORD=PASSWORD, IMAP_SECURITY="plain", IMAP_POLL_SECONDS="2",
                      IMAP_RETRY_MAX_SECONDS="2", MAIL_ACK="false")
    await desk.wait_healthy()

    async def mail_ok() -> bool:
        """/healthz 200 with components.mail ok (a quiet bot whose long poll is held counts as polling)."""
        answer = await desk.healthz()
        return answer is not None and answer[0] == 200 and answer[1]["components"].get("mail") == "ok"
    await desk.wait_for(mail_ok, "components.mail ok", 30)

    sent: list[str] = []

    async def append(phase: str, n: int) -> None:
        subject = f"{phase} mail {n}"
        await imap_server.append(mail(subject=subject, body=f"Body of {subject}.",
                                      sender=f"Sender {phase}{n} <{phase}{n}@example.com>",
                                      message_id=f"<{phase}-{n}@example.com>"))
        sent.append(subject)

    for n in range(2):
        await append("before", n)
    await asyncio.to_thread(external_pg.stop)
    stopped_at = time.monotonic()
    for n in range(int(OUTAGE)):
        await append("during", n)
        await asyncio.sleep(max(0.0, stopped_at + n + 1 - time.monotonic()))
    await asyncio.to_thread(external_pg.start)
    back_at = time.monotonic()
    for n in range(2):
        await append("after", n)

    found: dict[str, tuple[int, int]] = {}
    caught_up: dict[str, float] = {}  # what caught up, seconds after PostgreSQL was back
    last_health: object = None

    async def settled() -> bool:
        nonlocal found, last_health
        found = await mail_tickets(drill_db)
        if "tickets" not in caught_up and all(subject in found for subject in sent):
            caught_up["tickets"] = time.monotonic() - back_at
        last_health = await desk.healthz()
        if "mail ok" not in caught_up and await mail_ok():
            caught_up["mail ok"] = time.monotonic() - back_at
        return len(caught_up) == 2

    try:
        await desk.wait_for(settled, "every mail a ticket after the outage", SETTLE_WITHIN)
    except AssertionError as error:
        raise AssertionError(f"not settled: missing {[s for s in sent if s not in found]}, /healthz {last_health}"
                             f"\n{error}") from None
    await asyncio.sleep(1.0)  # room for a late duplicate to show up
    found = await mail_tickets(drill_db)
    print(f"\nmail outage {OUTAGE:g} s: {len(sent)} mails ({int(OUTAGE)} appended during the outage), caught up after "
          f"PostgreSQL was back (s): " + ", ".join(f"{what} {at:.1f}" for what, at in sorted(caught_up.items())))
    problems: dict[str, object] = {
        "mails not one ticket with one message": {s: found.get(s) for s in sent if found.get(s) != (1, 1)},
        "tickets nobody sent": {s: n for s, n in found.items() if s not in sent},
        "dead letters": await dead_letters(drill_db),
    }
    code = await desk.stop()
    problems["Ctrl-C exit code"] = code
    assert not {what: found for what, found in problems.items() if found}, desk.tail(25)


async def open_write_transaction(dsn: str) -> bool:
    """Some other connection to this database is inside a transaction that has written (has an xid)."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return bool(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"))
    finally:
        await conn.close()


async def stored_messages(dsn: str) -> int:
    """Customer messages stored; 0 while the starting desk has not created its tables yet."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM message WHERE author_kind = 'customer'"))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def test_mail_sigkill_mid_group(
    start_desk: Callable[..., DeskProcess], telegram: TelegramServer, drill_db: str,
    imap_server: ImapTestServer, cpu_burner: object,
) -> None:
    total = 150
    sent = [f"kill mail {n}" for n in range(total)]
    await imap_server.append(*(
        mail(subject=subject, body=f"Body of {subject}. " + "Some details of the order. " * 80,
             sender=f"Sender {n % 40} <sender{n % 40}@example.com>", message_id=f"<kill-{n}@example.com>")
        for n, subject in enumerate(sent)))
    first = start_desk(IMAP_HOST="127.0.0.1", IMAP_PORT=str(imap_server.port), IMAP_USER=USER,
                       IMAP_PASSWORD=PASSWORD, IMAP_SECURITY="plain", IMAP_POLL_SECONDS="2",
                       IMAP_RETRY_MAX_SECONDS="2", MAIL_ACK="false")
    seen: dict[str, int] = {}

    async def mid_group() -> bool:
        """Some mails committed, not all, and a group's transaction open right now."""
        stored = await stored_messages(drill_db)
        if 0 < stored < total and await open_write_transaction(drill_db):
            seen["stored"] = stored
            return True
        return False

    await first.wait_for(mid_group, "a group of mails being written after some were committed", 120)
    first.process.kill()  # SIGKILL: no chance to finish the group or flag anything
    await asyncio.to_thread(first.process.wait, 10)
    at_kill = await stored_messages(drill_db)

    second = start_desk()  # the same settings (they stay in the drill's environment)
    found: dict[str, tuple[int, int]] = {}

    async def all_in() -> bool:
        nonlocal found
        found = await mail_tickets(drill_db)
        return all(subject in found for subject in sent)

    took = await second.wait_for(all_in, "every mail a ticket after the restart", SETTLE_WITHIN)
    await asyncio.sleep(1.0)  # room for a late duplicate to show up
    found = await mail_tickets(drill_db)
    flags = await imap_server.flags()
    print(f"\nmail SIGKILL mid-group: {total} mails, {seen['stored']} stored when a group was seen open, "
          f"{at_kill} after the kill; all in {took:.1f} s after the restart")
    problems: dict[str, object] = {
        "mails not one ticket with one message": {s: found.get(s) for s in sent if found.get(s) != (1, 1)},
        "tickets nobody sent": {s: n for s, n in found.items() if s not in sent},
        "dead letters": await dead_letters(drill_db),
        "not flagged \\Seen": sorted(uid for uid, f in flags.items() if "\\Seen" not in f),
    }
    code = await second.stop()
    problems["Ctrl-C exit code"] = code
    assert not {what: found for what, found in problems.items() if found}, second.tail(25)
