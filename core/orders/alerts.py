"""The memory of partner alerts: which Telegram message shows which order to which member.
The Telegram channel asks it before sending (edit in place, or send anew) and tells it after."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import OrderAlert, StoreMember


@dataclass(frozen=True)
class AlertTarget:
    member_present: bool
    message_id: int | None = None


async def alert_target(session: AsyncSession, order_id: int, member_id: int) -> AlertTarget:
    """A member who left gets nothing more; otherwise the message to edit, if one was sent."""
    if await session.get(StoreMember, member_id) is None:
        return AlertTarget(member_present=False)
    message_id = await session.scalar(
        select(OrderAlert.message_id).where(OrderAlert.order_id == order_id, OrderAlert.member_id == member_id)
    )
    return AlertTarget(member_present=True, message_id=message_id)


async def remember_alert(session: AsyncSession, order_id: int, member_id: int, chat_id: int, message_id: int) -> None:
    if await session.get(StoreMember, member_id) is None:
        return
    stmt = insert(OrderAlert).values(order_id=order_id, member_id=member_id, chat_id=chat_id, message_id=message_id)
    await session.execute(stmt.on_conflict_do_update(
        constraint="uq_order_alert_order_member",
        set_={"chat_id": chat_id, "message_id": message_id, "updated_at": func.now()},
    ))


async def alerts_of(session: AsyncSession, order_id: int) -> list[OrderAlert]:
    return list(await session.scalars(select(OrderAlert).where(OrderAlert.order_id == order_id)))
