"""The inbox's first page with each row's last message (core.services.inbox.list_tickets: one query, a
LATERAL probe of ix_message_ticket_id_id per row) against the same page without previews (the ticket
columns only, the query before previews), on a scratch database of many tickets.

    python bench/inbox_rows.py --tickets 200000 --messages 4 --runs 30

Prints p50/p99 of both and the plan's use of the message index."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench.scratch import scratch_database
from core.migrate import upgrade
from core.models import Ticket
from core.services import inbox

FILL = """
INSERT INTO contact (name) SELECT 'Customer ' || n FROM generate_series(1, :tickets) AS n;
INSERT INTO ticket (subject, status, channel, queue_id, contact_id, unread_count, created_at, updated_at)
SELECT 'Talk to a human', CASE WHEN n % 20 = 0 THEN 'open' WHEN n % 20 = 1 THEN 'in_progress' ELSE 'closed' END,
       'telegram', (SELECT min(id) FROM queue), c.id, n % 3,
       now() - make_interval(secs => n * 7), now() - make_interval(secs => n * 7)
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contact) AS c;
INSERT INTO message (ticket_id, author_kind, body, created_at)
SELECT t.id, CASE WHEN m % 2 = 0 THEN 'customer' ELSE 'bot' END,
       repeat('A fairly long customer message line. ', 8) || m, t.created_at + make_interval(secs => m)
FROM ticket AS t CROSS JOIN generate_series(1, :messages) AS m;
ANALYZE;
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def run(tickets: int, messages: int, runs: int, verbose: bool) -> None:
    async with scratch_database("inbox") as url:
        await upgrade(url)
        engine = create_async_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        started = time.perf_counter()
        async with engine.begin() as conn:
            for statement in FILL.strip().split(";\n"):
                if statement.strip():
                    await conn.execute(text(statement), {"tickets": tickets, "messages": messages})
        print(f"filled {tickets:,} tickets x {messages} messages in {time.perf_counter() - started:.1f} s")
        flt = inbox.TicketFilter(statuses=("open", "in_progress", "waiting_customer"))
        plain = select(Ticket).where(Ticket.status.in_(flt.statuses)).order_by(
            Ticket.updated_at.desc(), Ticket.id.desc()).limit(51)
        timings: dict[str, list[float]] = {"with previews": [], "rows only (baseline)": []}
        async with sessions() as session:
            for _ in range(runs):
                for name in timings:
                    began = time.perf_counter()
                    if name == "with previews":
                        page = await inbox.list_tickets(session, flt, viewer_id=0, limit=50)
                        assert all(item["last_message"] for item in page.items)
                    else:
                        (await session.scalars(plain)).all()
                    timings[name].append((time.perf_counter() - began) * 1000)
        for name, values in timings.items():
            print(f"{name:22} p50 {statistics.median(values):6.2f} ms  p99 {percentile(values, 0.99):6.2f} ms")
        statements: list[tuple[str, object]] = []

        def keep(_conn: object, _cursor: object, statement: str, parameters: object, *_rest: object) -> None:
            statements.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", keep)
        async with sessions() as session:
            await inbox.list_tickets(session, flt, viewer_id=0, limit=50)
        event.remove(engine.sync_engine, "before_cursor_execute", keep)
        statement, parameters = statements[0]
        async with engine.connect() as conn:
            found = await conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters)  # type: ignore[arg-type]
            plan = [row[0] for row in found.all()]
        lateral = sum("ix_message_ticket_id_id" in line for line in plan)
        loops = [line.strip() for line in plan if "ix_message_ticket_id_id" in line]
        print(f"plan: {lateral} probe(s) of ix_message_ticket_id_id: {loops}")
        if verbose:
            print("\n".join(plan))
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--plan", action="store_true", help="print the whole query plan")
    args = parser.parse_args()
    asyncio.run(run(args.tickets, args.messages, args.runs, args.plan))


if __name__ == "__main__":
    main()
