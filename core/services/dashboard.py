"""Figures for the dashboard: ticket counts, response and resolution times, SLA attainment, CSAT, orders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Order, Queue, Ticket, TicketRating
from core.models.tickets import queue_display_name
from core.orders.statuses import ORDER_STATUSES
from core.services.team import team_figures

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


async def _orders_by_status(session: AsyncSession, since: datetime) -> dict[str, int]:
    """Orders and bookings placed in the period, by their status now, in the order of the status table."""
    rows = dict((await session.execute(
        select(Order.status, func.count()).where(Order.created_at >= since).group_by(Order.status)
    )).all())
    return {status: int(rows[status]) for status in ORDER_STATUSES if status in rows}


async def _csat(session: AsyncSession, since: datetime) -> dict[str, Any]:
    """Ratings (1..5) customers gave closed tickets in the period; 4 and 5 count as satisfied."""
    row = (await session.execute(
        select(func.avg(TicketRating.score), func.count(), func.count().filter(TicketRating.score >= 4))
        .where(TicketRating.created_at >= since)
    )).one()
    count = int(row[1])
    return {"average": _num(row[0]), "count": count, "satisfied": round(int(row[2]) / count, 3) if count else None}


async def dashboard(session: AsyncSession, days: int, now: datetime, language: str = "en") -> dict[str, Any]:
    since = now - timedelta(days=days)
    queue_names = {row.id: queue_display_name(row.name, row.name_ru, language)
                   for row in (await session.execute(select(Queue.id, Queue.name, Queue.name_ru))).all()}
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
        "team": [row.json() for row in await team_figures(session, since)],
    }
