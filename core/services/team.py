"""The dashboard's table per operator: replies sent, first-response and resolution medians, CSAT and open
tickets assigned now. One grouped query per figure, whatever the number of operators.

Who a figure belongs to: a reply to its author; a first response to the operator who wrote the ticket's
first reply; a resolution and a rating to the ticket's assignee; open tickets to their assignee."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import STAFF_ROLES
from core.models import Message, Operator, Ticket, TicketRating


@dataclass
class OperatorFigures:
    operator_id: int
    name: str
    replies: int = 0
    first_response_median: float | None = None  # seconds
    resolution_median: float | None = None  # seconds
    csat_average: float | None = None
    csat_count: int = 0
    open_now: int = 0

    def json(self) -> dict[str, Any]:
        return asdict(self)


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


async def _replies(session: AsyncSession, since: datetime) -> dict[int, int]:
    rows = await session.execute(
        select(Message.operator_id, func.count())
        .where(Message.author_kind == "operator", Message.operator_id.is_not(None), Message.created_at >= since)
        .group_by(Message.operator_id)
    )
    return {int(operator_id): int(count) for operator_id, count in rows.all() if operator_id is not None}


async def _first_responses(session: AsyncSession, since: datetime) -> dict[int, float | None]:
    """Median of first-response times of the period's tickets, by the writer of each ticket's first reply
    (found through the ticket's message index, not a scan of messages)."""
    first = (
        select(Message.operator_id).where(Message.ticket_id == Ticket.id, Message.author_kind == "operator")
        .order_by(Message.id).limit(1).correlate(Ticket).lateral("first_reply")
    )
    seconds = func.extract("epoch", Ticket.first_response_at - Ticket.created_at)
    rows = await session.execute(
        select(first.c.operator_id, func.percentile_cont(0.5).within_group(seconds))
        .select_from(Ticket).join(first, first.c.operator_id.is_not(None))
        .where(Ticket.created_at >= since, Ticket.first_response_at.is_not(None))
        .group_by(first.c.operator_id)
    )
    return {int(operator_id): _num(median) for operator_id, median in rows.all()}


async def _resolutions(session: AsyncSession, since: datetime) -> dict[int, float | None]:
    end = func.coalesce(Ticket.resolved_at, Ticket.closed_at)
    seconds = func.extract("epoch", end - Ticket.created_at)
    rows = await session.execute(
        select(Ticket.assignee_id, func.percentile_cont(0.5).within_group(seconds))
        .where(Ticket.created_at >= since, end.is_not(None), Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    )
    return {int(operator_id): _num(median) for operator_id, median in rows.all()}


async def _csat(session: AsyncSession, since: datetime) -> dict[int, tuple[float | None, int]]:
    rows = await session.execute(
        select(Ticket.assignee_id, func.avg(TicketRating.score), func.count())
        .join(Ticket, Ticket.id == TicketRating.ticket_id)
        .where(TicketRating.created_at >= since, Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    )
    return {int(operator_id): (_num(average), int(count)) for operator_id, average, count in rows.all()}


async def _open_now(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.status != "closed", Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    )
    return {int(operator_id): int(count) for operator_id, count in rows.all() if operator_id is not None}


async def team_figures(session: AsyncSession, since: datetime) -> list[OperatorFigures]:
    """Every active admin and operator, and anyone inactive who still has figures in the period."""
    replies, firsts = await _replies(session, since), await _first_responses(session, since)
    resolutions, csat = await _resolutions(session, since), await _csat(session, since)
    open_now = await _open_now(session)
    with_figures = set(replies) | set(firsts) | set(resolutions) | set(csat) | set(open_now)
    people = await session.execute(
        select(Operator.id, Operator.display_name)
        .where(Operator.role.in_(STAFF_ROLES), Operator.is_active | Operator.id.in_(with_figures))
        .order_by(func.lower(Operator.display_name), Operator.id)
    )
    table = []
    for operator_id, name in people.all():
        average, count = csat.get(operator_id, (None, 0))
        table.append(OperatorFigures(operator_id, name, replies.get(operator_id, 0), firsts.get(operator_id),
                                     resolutions.get(operator_id), average, count, open_now.get(operator_id, 0)))
    return table



