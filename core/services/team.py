"""The dashboard's table per operator: replies sent, first-response and resolution medians, CSAT and open
tickets assigned now, in two queries whatever the number of operators and the length of the period.

Who a figure belongs to: a reply to its author; a first response to the operator who wrote the ticket's
first reply; a resolution and a rating to the ticket's assignee; open tickets to their assignee.

The period's figures come from the dashboard's day rollups (core.services.dashboard, DAY_QUERIES team_*):
medians from the same 2% log histograms as the other dashboard times (within about 1% of exact)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import STAFF_ROLES
from core.models import Operator, Ticket
from core.services.histogram import percentile


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


def _by_operator(histograms: Counter[str]) -> dict[int, Counter[str]]:
    """Split an "operator:bucket" histogram into one histogram per operator."""
    split: dict[int, Counter[str]] = defaultdict(Counter)
    for key, count in histograms.items():
        operator_id, bucket = key.split(":")
        split[int(operator_id)][bucket] += count
    return split


async def _open_now(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.status != "closed", Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    )
    return {int(operator_id): int(count) for operator_id, count in rows.all() if operator_id is not None}


async def team_table(session: AsyncSession, figures: Mapping[str, Counter[str]]) -> list[OperatorFigures]:
    """The table of a period from its summed day figures (`period_figures`: the team_* figures), so it costs
    the same for 7 and 365 days; only the open tickets now are counted live (through an index). Every active
    admin and operator, and anyone inactive who still has figures in the period."""
    replies = {int(key): n for key, n in figures["team_replies"].items()}
    firsts = {key: percentile(times, 0.5) for key, times in _by_operator(figures["team_first_response"]).items()}
    resolutions = {key: percentile(times, 0.5) for key, times in _by_operator(figures["team_resolution"]).items()}
    csat: dict[int, tuple[float | None, int]] = {}
    for key, sums in _by_operator(figures["team_csat"]).items():
        if sums["count"]:
            csat[key] = (round(sums["sum"] / sums["count"], 1), sums["count"])
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
