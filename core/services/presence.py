"""Who has the panel open (a heartbeat the panel writes), and who to alert in Telegram otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, Select, and_, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import array, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import STAFF_ROLES
from core.models import Operator, OperatorPresence
from core.sla.calendar import business_seconds
from core.sla.hours import calendar_for

ONLINE_WITHIN = timedelta(seconds=90)


async def touch_presence(session: AsyncSession, operator_id: int) -> None:
    """The panel calls this on every heartbeat (e.g. each WebSocket ping) of an open panel."""
    stmt = insert(OperatorPresence).values(operator_id=operator_id)
    await session.execute(stmt.on_conflict_do_update(index_elements=["operator_id"],
                                                     set_={"last_seen_at": func.now(), "left_at": None}))


async def leave_presence(session: AsyncSession, operator_id: int) -> None:
    """The panel closed (last socket gone): the operator is offline at once, not after the window.
    The row stays with `left_at`, so auto-assignment knows how long they have been away."""
    await session.execute(update(OperatorPresence).where(OperatorPresence.operator_id == operator_id,
                                                         OperatorPresence.left_at.is_(None))
                          .values(left_at=func.now()))


def is_online(within: timedelta | ColumnElement[Any] = ONLINE_WITHIN) -> ColumnElement[bool]:
    """The presence row's operator has a panel open (join `OperatorPresence` to use it)."""
    return and_(OperatorPresence.left_at.is_(None), OperatorPresence.last_seen_at > func.now() - within)


async def operators_online(session: AsyncSession, within: timedelta = ONLINE_WITHIN) -> list[int]:
    rows = await session.scalars(
        select(OperatorPresence.operator_id)
        .join(Operator, Operator.id == OperatorPresence.operator_id)
        .where(is_online(within), Operator.is_active, Operator.role.in_(STAFF_ROLES))
    )
    return list(rows)


async def away_reason(session: AsyncSession, queue_id: int, now: datetime | None = None) -> str | None:
    """Why no human answers a ticket of this queue right now: "hours" (outside the queue's business
    hours; a queue without hours always works), "offline" (nobody has the panel open), or None (someone
    can answer now). Hours first: "we are closed until 9" tells a customer more than "nobody is online"."""
    calendar = await calendar_for(session, queue_id)
    moment = now or datetime.now(UTC)
    if calendar is not None and business_seconds(calendar, moment, moment + timedelta(seconds=1)) == 0:
        return "hours"
    if not await operators_online(session):
        return "offline"
    return None


@dataclass(frozen=True)
class AlertRecipient:
    operator_id: int
    telegram_user_id: int
    language: str


def _offline_alert_recipients() -> Select[int, int | None, str]:
    staff = Operator.role == any_(array(STAFF_ROLES))  # IN (...) would be re-rendered on every execution
    online = (
        select(OperatorPresence.operator_id)
        .join(Operator, Operator.id == OperatorPresence.operator_id)
        .where(is_online(bindparam("within", type_=Interval())), Operator.is_active, staff)
        .exists()
    )
    return select(Operator.id, Operator.telegram_user_id, Operator.language).where(
        Operator.is_active, staff, Operator.telegram_user_id.is_not(None), ~online
    ).order_by(Operator.id)


_OFFLINE_ALERT_RECIPIENTS = _offline_alert_recipients()  # built once: it runs for every customer message


def offline_alert_recipients_exist() -> ColumnElement[bool]:
    """Whether `offline_alert_recipients` would find anyone (parameter `within`), as SQL: a statement
    that runs for every customer message asks it along the way, and the list is read only when it is true."""
    return _offline_alert_recipients().exists()


async def offline_alert_recipients(session: AsyncSession, within: timedelta = ONLINE_WITHIN) -> list[AlertRecipient]:
    """Nobody online: every active operator or admin who linked Telegram. Someone online: nobody.
    One statement: it runs for every customer message."""
    rows = (await session.execute(_OFFLINE_ALERT_RECIPIENTS, {"within": within})).all()
    return [AlertRecipient(r.id, int(r.telegram_user_id), r.language) for r in rows]
