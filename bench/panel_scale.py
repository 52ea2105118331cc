"""The panel at a million tickets (issue 20): every call the panel makes, timed on a scratch database of
generated tickets and messages in Russian and English, beside the raw index read of the same rows in the
same run, with each call's query plans and a check that none reads ticket or message sequentially.

    python bench/panel_scale.py --tickets 1000000 --messages 10000000 --runs 15
    python bench/panel_scale.py --tickets 100000 --messages 300000 --runs 10   # a quick run

Rows are generated with set-based SQL (INSERT … SELECT generate_series); the indexes of migrations 0028
and 0032 are dropped for the fill and built afterwards, as a desk upgraded with data builds them. The calls are
the core functions the API views call (core.services.inbox.list_tickets, core.services.dashboard), each
in its own transaction as a request has."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bench.scratch import scratch_database
from core.heap import freeze_startup_heap
from core.jobs.rollups import RefreshRollups
from core.migrate import upgrade
from core.services import dashboard, inbox, ticket_search

# The indexes of these migrations are dropped for the fill and built after it.
INDEXES = {**importlib.import_module("migrations.versions.0028_panel_scale").INDEXES,
           **importlib.import_module("migrations.versions.0032_dashboard_spans").INDEXES}

# Operator messages carry their author (the dashboard's per-operator replies and first responses); one
# closed ticket in five is rated. Words of the generated dialogs: "курьер" (and its forms) is in about one
# message of ten, "мармелад" and "zeppelin" in one of a hundred thousand; order numbers, e-mail addresses
# and phones throughout.
FILL = """
INSERT INTO operator (email, password_hash, display_name, role)
SELECT 'op' || n || '@bench.example', 'x', 'Operator ' || n, 'operator' FROM generate_series(1, 20) AS n;
INSERT INTO contact (name, language)
SELECT (ARRAY['Ольга','Иван','Мария','Пётр','Anna','John','Kate','Mike'])[1 + n % 8] || ' '
       || (ARRAY['Смирнова','Кузнецов','Попова','Lee','Smith','Brown'])[1 + (n / 8) % 6] || ' ' || n,
       CASE WHEN n % 3 = 0 THEN 'en' ELSE 'ru' END
FROM generate_series(1, :contacts) AS n;
INSERT INTO ticket (subject, status, priority, channel, queue_id, contact_id, assignee_id, unread_count,
                    created_at, updated_at, first_response_at, resolved_at, closed_at, frt_due_at)
SELECT CASE WHEN n % 3 = 0 THEN 'Order ' || (500000 + n) || ' is late'
            ELSE 'Заказ ' || (500000 + n) || ' не пришёл' END,
       CASE WHEN n % 100 = 0 THEN 'open' WHEN n % 200 = 1 THEN 'in_progress'
            WHEN n % 200 = 3 THEN 'waiting_customer' ELSE 'closed' END,
       (ARRAY['low','medium','medium','high','urgent'])[1 + n % 5],
       (ARRAY['telegram','telegram','email','web'])[1 + n % 4],
       (SELECT array_agg(id ORDER BY id) FROM queue)[1 + n % (SELECT count(*) FROM queue)::int],
       1 + n % :contacts, CASE WHEN n % 4 = 0 THEN NULL ELSE (SELECT min(id) FROM operator) + n % 20 END,
       CASE WHEN n % 100 = 0 THEN n % 4 ELSE 0 END,
       at, at + interval '2 hours', at + make_interval(secs => 60 + n % 3600),
       CASE WHEN n % 200 > 3 THEN at + interval '2 hours' END, CASE WHEN n % 200 > 3 THEN at + interval '2 hours' END,
       at + interval '30 minutes'
FROM (SELECT n, now() - make_interval(secs => (:tickets - n) * :spread) AS at
      FROM generate_series(1, :tickets) AS n) AS g;
INSERT INTO message (ticket_id, author_kind, operator_id, body, created_at)
SELECT 1 + m % :tickets, CASE WHEN m % 2 = 0 THEN 'customer' ELSE 'operator' END,
       CASE WHEN m % 2 = 1 THEN (SELECT min(id) FROM operator) + m % 20 END,
       CASE WHEN m % 3 = 0 THEN
         (ARRAY['Hello, my parcel', 'Where are the deliveries for order', 'The courier did not bring order',
                'Please refund order', 'I was charged twice for order'])[1 + m % 5] || ' ' || (500000 + m % :tickets)
         || CASE WHEN m % 99999 = 6 THEN ', the zeppelin toy' ELSE '' END
         || '. Write to client' || m || '@mail.example or call +7 900 ' || lpad((m % 10000000)::text, 7, '0')
       ELSE
         (ARRAY['Здравствуйте, где мой заказ', 'Курьера не было, заказ', 'Курьер опоздал с заказом',
                'Верните деньги за заказ', 'Спасибо, получила заказ'])[1 + m % 5]
         || CASE WHEN m % 10 = 1 THEN ', курьер звонил' ELSE '' END
         || ' ' || (500000 + m % :tickets)
         || CASE WHEN m % 99999 = 4 THEN ', мармелад испорчен' ELSE '' END
         || '. Телефон +7 900 ' || lpad((m % 10000000)::text, 7, '0')
       END,
       now() - make_interval(secs => (:messages - m)::float8 * :spread * :tickets / :messages)
FROM generate_series(1, :messages) AS m;
INSERT INTO note (ticket_id, operator_id, body)
SELECT 1 + n * 97 % :tickets, (SELECT min(id) FROM operator), 'Проверить возврат по заказу ' || n
FROM generate_series(1, :tickets / 100) AS n;
INSERT INTO ticket_rating (ticket_id, contact_id, score, created_at)
SELECT id, contact_id, 1 + id % 5, closed_at FROM ticket WHERE closed_at IS NOT NULL AND id % 5 = 0;
"""

SEQ = re.compile(r"Seq Scan on (ticket|message)\b")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def fill(engine: AsyncEngine, tickets: int, messages: int) -> None:
    params = {"tickets": tickets, "messages": messages, "contacts": max(1, tickets // 2),
              "spread": max(1, 2 * 365 * 86400 // tickets)}  # two years of tickets
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in INDEXES:
            await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        for statement in FILL.strip().split(";\n"):
            began = time.perf_counter()
            await conn.execute(text(statement), params)
            print(f"  {statement.split()[2]:10} {time.perf_counter() - began:7.1f} s", flush=True)
        await conn.execute(text("SET maintenance_work_mem = '256MB'"))
        for name, (table, body) in INDEXES.items():
            began = time.perf_counter()
            await conn.execute(text(f"CREATE INDEX {name} ON {table} {body}"))
            print(f"  index {name:34} {time.perf_counter() - began:7.1f} s", flush=True)
        await conn.execute(text("VACUUM ANALYZE"))


Call = Callable[[AsyncSession], Awaitable[Any]]


def calls(viewer: int, now: datetime) -> dict[str, tuple[Call, str]]:
    """name -> (the panel's call, the raw index read of the same rows)."""
    def listing(**kw: Any) -> Call:
        flt = inbox.TicketFilter(**kw)
        return lambda session: inbox.list_tickets(session, flt, viewer_id=viewer, limit=50)

    def board(days: int) -> Call:
        return lambda session: dashboard.dashboard(session, days, now)

    page = "SELECT id FROM ticket {} ORDER BY updated_at DESC, id DESC LIMIT 51"
    fts = ("SELECT ticket_id FROM message WHERE to_tsvector('russian'::regconfig, body) @@ "
           "websearch_to_tsquery('russian', '{}') LIMIT " + str(ticket_search.CAP))
    like = "SELECT ticket_id FROM message WHERE body ILIKE '%{}%' LIMIT " + str(ticket_search.CAP)
    live = "WHERE status <> 'closed'"
    # The stored rows a period reads: its months and weeks (dashboard_span), and about a week of edge days.
    rollup = ("SELECT figures FROM dashboard_span WHERE start >= current_date - {0} "
              "UNION ALL SELECT figures FROM dashboard_day WHERE day >= current_date - least({0}, 7)")
    return {
        "inbox: all": (listing(), page.format("")),
        "inbox: live (default)": (listing(statuses=("open", "in_progress", "waiting_customer")), page.format(live)),
        "inbox: closed": (listing(statuses=("closed",)), page.format("WHERE status = 'closed'")),
        "inbox: mine": (listing(assignee="mine"), page.format(f"WHERE assignee_id = {viewer}")),
        "inbox: unassigned": (listing(assignee="unassigned"), page.format("WHERE assignee_id IS NULL")),
        "inbox: queue": (listing(queue_id=1), page.format("WHERE queue_id = 1")),
        "inbox: channel email": (listing(channel="email"), page.format("WHERE channel = 'email'")),
        "inbox: urgent + open": (listing(priority="urgent", statuses=("open",)),
                                 page.format("WHERE priority = 'urgent' AND status = 'open'")),
        "search: common word": (listing(text="курьера"), fts.format("курьера")),
        "search: rare word": (listing(text="мармелад"), fts.format("мармелад")),
        "search: english stem": (listing(text="zeppelins"), fts.format("zeppelins")),
        "search: number": (listing(text="500123"), fts.format("500123")),
        "search: e-mail part": (listing(text="client4242@mail"), like.format("client4242@mail")),
        "search: phone": (listing(text="900 0004242"), like.format("900 0004242")),
        "ticket page": (lambda s: inbox.ticket_card(s, _ticket(s)), "SELECT * FROM ticket WHERE id = 123"),
        "dashboard 7 days": (board(7), rollup.format(7)),
        "dashboard 30 days": (board(30), rollup.format(30)),
        "dashboard 365 days": (board(365), rollup.format(365)),
    }


def _ticket(session: AsyncSession) -> Any:
    return session.info["ticket"]


async def timed(sessions: async_sessionmaker[AsyncSession], call: Call, raw: str,
                runs: int, warmup: int = 0) -> tuple[list[float], list[float]]:
    """`runs` timings of the call and of its raw read, after `warmup` untimed calls (a running desk's
    pooled connections have planned its statements and loaded the catalogs they touch already)."""
    panel: list[float] = []
    base: list[float] = []
    for _ in range(warmup):
        async with sessions() as session, session.begin():
            session.info["ticket"] = await session.get(inbox.Ticket, 123)
            await call(session)
        async with sessions() as session, session.begin():
            await session.execute(text(raw))
    for _ in range(runs):
        async with sessions() as session, session.begin():
            session.info["ticket"] = await session.get(inbox.Ticket, 123)
            began = time.perf_counter()
            await call(session)
            panel.append((time.perf_counter() - began) * 1000)
        async with sessions() as session, session.begin():
            began = time.perf_counter()
            (await session.execute(text(raw))).all()
            base.append((time.perf_counter() - began) * 1000)
    return panel, base


async def plans(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], call: Call) -> list[str]:
    statements: list[tuple[str, Any]] = []

    def keep(_conn: object, _cursor: object, statement: str, parameters: Any, *_rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    async with sessions() as session, session.begin():
        session.info["ticket"] = await session.get(inbox.Ticket, 123)
        event.listen(engine.sync_engine, "before_cursor_execute", keep)
        try:
            await call(session)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", keep)
    found = []
    async with engine.connect() as conn:
        for statement, parameters in statements:
            result = await conn.exec_driver_sql("EXPLAIN (COSTS OFF) " + statement, parameters)
            found.append("\n".join(row[0] for row in result.all()))
    return found


@contextlib.asynccontextmanager
async def database(args: argparse.Namespace) -> AsyncIterator[str]:
    """`--database`'s URL (kept as it is), else a scratch database."""
    if args.database:
        yield args.database
        return
    async with scratch_database("panel", keep=args.keep) as url:
        yield url


async def run(args: argparse.Namespace) -> None:
    async with database(args) as url:
        await upgrade(url)
        engine = create_async_engine(url, pool_size=2)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session:
            filled = bool(await session.scalar(text("SELECT EXISTS (SELECT 1 FROM ticket)")))
        if filled:  # a database filled by an earlier run (--database): its rows are timed as they are
            print("the database holds tickets already: not filled again", flush=True)
        else:
            began = time.perf_counter()
            print(f"filling {args.tickets:,} tickets, {args.messages:,} messages", flush=True)
            await fill(engine, args.tickets, args.messages)
            print(f"filled in {time.perf_counter() - began:.0f} s", flush=True)
        began = time.perf_counter()
        computed = await RefreshRollups(sessions, backfill=1000).run()
        print(f"dashboard rollups: {computed} days in {time.perf_counter() - began:.1f} s", flush=True)
        async with sessions() as session:
            viewer = int(await session.scalar(text("SELECT min(id) FROM operator")) or 0)
        # As `desk run` does once started: the start-up heap frozen, so a collection walks only what the
        # calls allocate (unfrozen, a full collection of this process took 77-98 ms, inside a timed call).
        freeze_startup_heap()
        seq_found = []
        print(f"{'call':24} {'panel p50':>10} {'p99':>8}   {'raw p50':>8} {'p99':>8}")
        for name, (call, raw) in calls(viewer, datetime.now(UTC)).items():
            panel, base = await timed(sessions, call, raw, args.runs, args.warmup)
            print(f"{name:24} {statistics.median(panel):8.1f}ms {percentile(panel, 0.99):6.1f}ms   "
                  f"{statistics.median(base):6.1f}ms {percentile(base, 0.99):6.1f}ms", flush=True)
            for plan in await plans(engine, sessions, call):
                if SEQ.search(plan):
                    seq_found.append((name, plan))
                if args.plans:
                    print("    " + plan.replace("\n", "\n    "))
        for name, plan in seq_found:
            print(f"\nseq scan found in {name!r}:\n{plan}")
        print("seq scan found" if seq_found else "no seq scan of ticket or message in any plan")
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--plans", action="store_true", help="print every query plan")
    parser.add_argument("--warmup", type=int, default=0,
                        help="untimed calls before the timed ones (a new connection's first call plans its "
                             "statements and loads the catalogs they touch)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", help="use this database (a URL) instead of a scratch one, and keep it; "
                                           "filled only when it holds no tickets, so a second run skips the fill")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
