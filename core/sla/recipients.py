"""Who gets a ticket's SLA alert in Telegram: its assignee; when unassigned, the operators of its
queue; when the queue has no members at all, every active staff member (so nobody is left out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import STAFF_ROLES
from core.models import Operator, QueueMember


@dataclass(frozen=True)
class Recipient:
    operator_id: int
    chat_id: int
    language: str


def _reachable() -> ColumnElement[bool]:
    return and_(Operator.is_active.is_(True), Operator.telegram_user_id.is_not(None), Operator.role.in_(STAFF_ROLES))


async def alert_recipients(
    session: AsyncSession, tickets: Iterable[tuple[int, int, int | None]]
) -> dict[int, list[Recipient]]:
    """(ticket_id, queue_id, assignee_id) → the recipients of each ticket."""
    tickets = list(tickets)
    assignees = {assignee for _, _, assignee in tickets if assignee is not None}
    queues = {queue for _, queue, assignee in tickets if assignee is None}
    by_operator: dict[int, Recipient] = {}
    if assignees:
        rows = await session.scalars(select(Operator).where(Operator.id.in_(assignees), _reachable()))
        by_operator = {op.id: _recipient(op) for op in rows}
    by_queue: dict[int, list[Recipient]] = {}
    if queues:
        by_queue = await _queue_recipients(session, queues)
    result: dict[int, list[Recipient]] = {}
    for ticket_id, queue_id, assignee_id in tickets:
        if assignee_id is not None:
            result[ticket_id] = [by_operator[assignee_id]] if assignee_id in by_operator else []
        else:
            result[ticket_id] = by_queue.get(queue_id, [])
    return result


async def _queue_recipients(session: AsyncSession, queues: set[int]) -> dict[int, list[Recipient]]:
    members = (await session.execute(
        select(QueueMember.queue_id, Operator).join(Operator, Operator.id == QueueMember.operator_id)
        .where(QueueMember.queue_id.in_(queues))
    )).all()
    result: dict[int, list[Recipient]] = {queue: [] for queue in queues}
    staffed: set[int] = set()
    for queue_id, operator in members:
        staffed.add(queue_id)
        if operator.is_active and operator.telegram_user_id is not None and operator.role in STAFF_ROLES:
            result[queue_id].append(_recipient(operator))
    if staffed != queues:
        everyone = [_recipient(op) for op in await session.scalars(select(Operator).where(_reachable()))]
        for queue_id in queues - staffed:
            result[queue_id] = everyone
    return result


def _recipient(operator: Operator) -> Recipient:
    assert operator.telegram_user_id is not None
    return Recipient(operator.id, operator.telegram_user_id, operator.language)
