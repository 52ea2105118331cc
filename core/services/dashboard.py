"""Figures for the dashboard: ticket counts, response and resolution times, SLA attainment, CSAT, orders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Base, Queue, Ticket

PERIODS = (7, 30)


async def _counts(session: AsyncSession, column: Any, since: datetime) -> dict[str, int]:
    rows = (await session.execute(
        select(column, func.count()).where(Ticket.created_at >= since).group_by(column).order_by(column)
    )).all()
    return {str(key): int(count) for key, count in rows}


async def _percentiles(session: AsyncSession, end: Any, since: datetime) -> dict[str, float | None]:
    seconds = func.extract("epoch", end - Ticket.created_at)
    row = (await session.execute(
        select(
            func.percentile_cont(0.5).within_group(seconds),
            func.percentile_cont(0.9).within_group(seconds),
            func.count(),
        ).where(Ticket.created_at >= since, end.is_not(None))
    )).one()
    return {"median": _num(row[0]), "p90": _num(row[1]), "count": int(row[2])}


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


async def _sla_attainment(session: AsyncSession, since: datetime) -> dict[str, Any]:
    """Share of tickets with a first-response deadline that were answered in time (open ones whose
    deadline has not passed yet are not counted)."""
    due = and_(Ticket.created_at >= since, Ticket.frt_due_at.is_not(None))
    decided = and_(due, (Ticket.first_response_at.is_not(None)) | (Ticket.frt_due_at < func.now()))
    met = and_(decided, Ticket.first_response_at <= Ticket.frt_due_at)
    total = int(await session.scalar(select(func.count()).where(decided)) or 0)
    hits = int(await session.scalar(select(func.count()).where(met)) or 0)
    return {"met": hits, "total": total, "ratio": round(hits / total, 3) if total else None}


async def _orders_by_status(session: AsyncSession, since: datetime) -> dict[str, int] | None:
    """Orders arrive with the orders area; until its table exists there is nothing to count."""
    table = Base.metadata.tables.get("order")
    if not isinstance(table, Table) or "status" not in table.c or "created_at" not in table.c:
        return None
    rows = (await session.execute(
        select(table.c.status, func.count()).where(table.c.created_at >= since).group_by(table.c.status)
    )).all()
    return {str(status): int(count) for status, count in rows}


async def _csat(session: AsyncSession, since: datetime) -> dict[str, Any] | None:
    """Ratings arrive with the support bot (a `rating` table with `score` 1..5); none until then."""
    table = Base.metadata.tables.get("rating")
    if not isinstance(table, Table) or "score" not in table.c or "created_at" not in table.c:
        return None
    row = (await session.execute(
        select(func.avg(table.c.score), func.count(), func.count().filter(table.c.score >= 4))
        .where(table.c.created_at >= since)
    )).one()
    count = int(row[1])
    return {"average": _num(row[0]), "count": count, "satisfied": round(int(row[2]) / count, 3) if count else None}


async def dashboard(session: AsyncSession, days: int, now: datetime) -> dict[str, Any]:
    since = now - timedelta(days=days)
    queue_names = dict((await session.execute(select(Queue.id, Queue.name))).all())
    by_queue = await _counts(session, Ticket.queue_id, since)
    return {
        "days": days,
        "since": since.isoformat(),
        "total": sum((await _counts(session, Ticket.status, since)).values()),
        "by_status": await _counts(session, Ticket.status, since),
        "by_queue": {queue_names.get(int(key), key): count for key, count in by_queue.items()},
        "by_channel": await _counts(session, Ticket.channel, since),
        "first_response": await _percentiles(session, Ticket.first_response_at, since),
        "resolution": await _percentiles(session, func.coalesce(Ticket.resolved_at, Ticket.closed_at), since),
        "sla": await _sla_attainment(session, since),
        "csat": await _csat(session, since),
        "orders_by_status": await _orders_by_status(session, since),
    }
