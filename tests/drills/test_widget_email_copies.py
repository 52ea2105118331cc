"""The e-mail copies of website-chat replies (`core/services/email_copies.py`) through the real `desk run`,
beside a busy CPU, with an SMTP sink (aiosmtpd) and an IMAP server (pymap) on loopback: a visitor who left
an address and went away gets one mail per operator reply they did not see, a visitor whose widget showed
the replies gets none — also when PostgreSQL is stopped for 6 s around the moment the copies fall due.
Then the desk is SIGKILLed while a copy is in the middle of its send (the sink holds the SMTP transaction
at RCPT) and more are due: the next desk takes the dead worker's row at once and every copy still leaves
exactly once. Both desks that are not killed exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

import asyncpg
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.botapi import TelegramServer
from tests.drills.customers import dead_letters
from tests.drills.operator import Operator
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess, create_admin
from tests.drills.test_database_outage import outbox_busy
from tests.drills.test_widget_outage import Visitor, hand_off, shop_widget
from tests.mail.conftest import imap_server  # noqa: F401  (the fixture)
from tests.mail.servers import PASSWORD, USER, ImapTestServer, SinkHandler, SmtpSink
from tests.waiting import running

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

GRACE = 10.0  # WIDGET_EMAIL_AFTER_SECONDS
OUTAGE = 6.0
AWAY_REPLIES = 3
SEEN_REPLIES = 2
AFTER_KILL_REPLIES = 3
SETTLE_WITHIN = 60.0
AWAY, WATCHER = "away.visitor@example.com", "watching.visitor@example.com"


@dataclass
class HeldSink(SinkHandler):
    """The sink, with a gate: while `open` is clear every SMTP transaction waits at RCPT, so the desk's
    send of a copy is in flight (its outbox row `sending`) and nothing has been accepted yet."""

    open: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        await self.open.wait()
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    server = SmtpSink()
    server.handler = HeldSink()
    server.handler.open.set()
    await server.start()
    yield server
    server.handler.open.set()  # a held transaction of a killed desk ends
    await server.stop()


def copies(sink: SmtpSink, bodies: list[str]) -> Counter[str]:
    """How many mails the sink accepted holding each reply body (a copy is the body and a footer)."""
    found: Counter[str] = Counter()
    for mail in sink.handler.received:
        assert isinstance(mail, EmailMessage)
        part = mail.get_body(("plain",))
        text = part.get_content() if part is not None else ""
        found.update(body for body in bodies if text.splitlines()[:1] == [body])
    return found


def recipients(sink: SmtpSink) -> set[str]:
    return {address for _, rcpt in sink.handler.envelopes for address in rcpt}


async def query(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def copy_rows(dsn: str) -> dict[str, int]:
    """state -> count of the outbox's copy rows, and `skipped_seen` for those the widget had shown."""
    rows = await query(dsn, "SELECT state, result->>'skipped' AS skipped FROM outbox WHERE kind = 'copy'")
    found: Counter[str] = Counter(row["state"] for row in rows)
    found["skipped_seen"] = sum(1 for row in rows if row["skipped"] == "seen")
    return dict(found)


async def copy_results(dsn: str) -> list[str]:
    """The copy rows with their outcome, for a failure message."""
    rows = await query(dsn, "SELECT id, state, attempts, payload, result, last_error FROM outbox"
                            " WHERE kind = 'copy' ORDER BY id")
    return [str(dict(row)) for row in rows]


async def seen_mark(dsn: str, visitor: str) -> int:
    rows = await query(dsn, "SELECT (visit->>'seen')::bigint AS seen FROM contact_identity"
                            " WHERE channel = 'web' AND external_id = $1", visitor)
    return int(rows[0]["seen"] or 0) if rows else 0


async def tell_seen(visitor: Visitor) -> None:
    """widget.js's `seen` hint: the id of the last message the widget has shown, whenever it grows."""
    told = 0
    while True:
        ws = visitor._ws
        if visitor.after > told and ws is not None and not ws.closed:
            try:
                await ws.send_json({"type": "seen", "id": visitor.after})
                told = visitor.after
            except (ConnectionError, RuntimeError):
                pass
        await asyncio.sleep(0.2)


async def leave_address(visitor: Visitor, email: str) -> None:
    await visitor.send({"type": "email", "email": email})
    deadline = time.monotonic() + 30
    while visitor.unacked:
        assert time.monotonic() < deadline, f"{visitor.name}: the e-mail frame was never acknowledged"
        await asyncio.sleep(0.05)


async def test_reply_copies_leave_once_across_an_outage_and_a_sigkill(
    start_desk: Callable[..., DeskProcess], telegram: TelegramServer, drill_db: str,
    external_pg: ExternalPostgres, sink: SmtpSink, imap_server: ImapTestServer, cpu_burner: object,  # noqa: F811
) -> None:
    held = sink.handler
    assert isinstance(held, HeldSink)
    desk = start_desk(SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink.port), SMTP_SECURITY="plain",
                      SMTP_FROM="Desk Support <support@desk.test>", SMTP_TIMEOUT_SECONDS="120",
                      IMAP_HOST="127.0.0.1", IMAP_PORT=str(imap_server.port), IMAP_USER=USER, IMAP_PASSWORD=PASSWORD,
                      IMAP_SECURITY="plain", IMAP_POLL_SECONDS="2", IMAP_RETRY_MAX_SECONDS="2",
                      WIDGET_EMAIL_AFTER_SECONDS=f"{GRACE:g}")
    await desk.wait_healthy()
    await create_admin(desk.env)
    operator = Operator(desk)
    away = watcher = None
    try:
        await operator.login()
        key = await shop_widget(operator)
        away, watcher = Visitor(desk, key, "away"), Visitor(desk, key, "watcher")
        await asyncio.gather(away.open(), watcher.open())
        away_ticket, watcher_ticket = await asyncio.gather(hand_off(away), hand_off(watcher))
        await asyncio.gather(leave_address(away, AWAY), leave_address(watcher, WATCHER))
        await away.close()  # the tab is closed: nothing the operator says now is shown

        # Phase 1: the replies; PostgreSQL goes away 3 s before the first copy falls due, for 6 s.
        async with running(tell_seen(watcher)):
            first_reply = time.monotonic()
            away_bodies = [f"away reply {n}" for n in range(AWAY_REPLIES)]
            seen_bodies = [f"watched reply {n}" for n in range(SEEN_REPLIES)]
            for body in [*away_bodies, *seen_bodies]:
                reply = await operator.reply(away_ticket if body in away_bodies else watcher_ticket, body)
                assert reply.status == 201, reply

            async def shown() -> bool:
                bodies = {m["body"] for m in watcher.messages()}
                return set(seen_bodies) <= bodies and await seen_mark(drill_db, watcher_id) >= watcher.after
            watcher_id = await visitor_of(drill_db, watcher_ticket)
            await desk.wait_for(shown, "the watcher's widget showed the replies and said so", GRACE - 4)
            await asyncio.sleep(max(0.0, first_reply + GRACE - OUTAGE / 2 - time.monotonic()))
            await asyncio.to_thread(external_pg.stop)
            stopped_at = time.monotonic()
            await asyncio.sleep(OUTAGE)
            await asyncio.to_thread(external_pg.start)
            back_at = time.monotonic()

            sent: Counter[str] = Counter()
            rows: dict[str, int] = {}

            async def copied() -> bool:
                nonlocal sent, rows
                sent, rows = copies(sink, away_bodies + seen_bodies), await copy_rows(drill_db)
                return all(sent[b] for b in away_bodies) and not rows.get("pending") and not rows.get("sending")
            try:
                await desk.wait_for(copied, "a copy of every unseen reply after the outage", SETTLE_WITHIN)
            except AssertionError as error:
                raise AssertionError(f"copies {dict(sent)}, rows {await copy_results(drill_db)}, sink "
                                     f"{sink.handler.envelopes}\n{error}") from None
            caught_up = time.monotonic() - back_at
            await asyncio.sleep(2.0)  # room for a late duplicate
        sent, rows = copies(sink, away_bodies + seen_bodies), await copy_rows(drill_db)
        due_into = first_reply + GRACE - stopped_at
        print(f"\nreply copies across a {OUTAGE:g} s outage (the first due {due_into:.1f} s into it): "
              f"{sum(sent.values())} mails for {AWAY_REPLIES} unseen replies, {rows.get('skipped_seen', 0)}"
              f" of {SEEN_REPLIES} seen skipped, all sent {caught_up:.1f} s after PostgreSQL was back")
        assert {b: sent[b] for b in away_bodies} == dict.fromkeys(away_bodies, 1), sent
        assert {b: sent[b] for b in seen_bodies} == dict.fromkeys(seen_bodies, 0), sent
        assert rows == {"sent": AWAY_REPLIES + SEEN_REPLIES, "skipped_seen": SEEN_REPLIES}, rows
        assert recipients(sink) == {AWAY}
        assert await dead_letters(drill_db) == []
        assert await desk.stop(signal.SIGTERM) == 0
        await watcher.close()
        await operator.close()

        # Phase 2: SIGKILL while one copy is being sent (held at RCPT) and the others are due.
        held.open.clear()
        desk = start_desk()
        await desk.wait_healthy()
        operator = Operator(desk)
        await operator.login()
        killed_bodies = [f"reply before the kill {n}" for n in range(AFTER_KILL_REPLIES)]
        for body in killed_bodies:
            assert (await operator.reply(away_ticket, body)).status == 201
        await operator.close()

        async def in_flight() -> bool:
            nonlocal rows
            rows = await copy_rows(drill_db)
            return rows.get("sending", 0) >= 1 and rows.get("pending", 0) >= AFTER_KILL_REPLIES - 1
        await desk.wait_for(in_flight, "a copy being sent", GRACE + 20)
        await asyncio.sleep(0.5)
        at_kill = await outbox_busy(drill_db)
        desk.kill()  # SIGKILL: no shutdown, its lease identity's lock goes with its connection

        desk = start_desk()
        healthy = await desk.wait_healthy()
        held.open.set()
        opened = time.monotonic()

        async def delivered() -> bool:
            nonlocal sent, rows
            sent, rows = copies(sink, killed_bodies), await copy_rows(drill_db)
            return all(sent[b] for b in killed_bodies) and not rows.get("pending") and not rows.get("sending")
        try:
            await desk.wait_for(delivered, "every copy after the SIGKILL", SETTLE_WITHIN)
        except AssertionError as error:
            raise AssertionError(f"copies {dict(sent)}, rows {rows}, at the kill {at_kill}\n{error}") from None
        took = time.monotonic() - opened
        await asyncio.sleep(2.0)  # room for a late duplicate
        sent = copies(sink, away_bodies + killed_bodies)
        print(f"SIGKILL with {len(at_kill)} copies due (one held mid-send): next desk healthy in {healthy:.1f} s,"
              f" all {AFTER_KILL_REPLIES} sent {took:.1f} s after the sink let them through; mails per reply "
              f"{sorted(Counter(sent.values()).items())}")
        assert {b: sent[b] for b in away_bodies + killed_bodies} == dict.fromkeys(away_bodies + killed_bodies, 1), sent
        assert await outbox_busy(drill_db) == []
        assert await dead_letters(drill_db) == []
        assert await desk.stop(signal.SIGTERM) == 0
    finally:
        for visitor in (away, watcher):
            if visitor is not None:
                await visitor.close()
        await operator.close()


async def visitor_of(dsn: str, ticket_id: int) -> str:
    """The visitor id (the web identity's external id) a widget ticket came from."""
    [row] = await query(dsn, "SELECT i.external_id FROM ticket t JOIN contact_identity i"
                             " ON i.id = t.identity_id WHERE t.id = $1", ticket_id)
    return str(row["external_id"])
