"""Reads of the orders area. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import STAFF_ROLES
from core.models import Contact, Operator, Order, OrderItem, OrderTransition, Store, StoreMember


async def lock_order(session: AsyncSession, order_id: int) -> Order | None:
    """The row lock that serialises two presses on the same order."""
    return await session.scalar(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    )


async def items_of(session: AsyncSession, order_id: int) -> Sequence[OrderItem]:
    return (await session.scalars(select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id))).all()


async def items_by_order(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[OrderItem]]:
    """The items of many orders in one statement (a page or a board), each order's in their order."""
    found: dict[int, list[OrderItem]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        query = select(OrderItem).where(OrderItem.order_id.in_(order_ids)).order_by(OrderItem.order_id, OrderItem.id)
        for item in await session.scalars(query):
            found[item.order_id].append(item)
    return found


async def history_of(session: AsyncSession, order_id: int) -> Sequence[OrderTransition]:
    query = select(OrderTransition).where(OrderTransition.order_id == order_id).order_by(OrderTransition.id)
    return (await session.scalars(query)).all()


async def last_actor_name(session: AsyncSession, order_id: int) -> str | None:
    """Who made the latest change (None while the order is new)."""
    return await session.scalar(
        select(OrderTransition.actor_name)
        .where(OrderTransition.order_id == order_id, OrderTransition.from_status.is_not(None))
        .order_by(OrderTransition.id.desc())
        .limit(1)
    )


async def members_with_telegram(session: AsyncSession, store_id: int) -> Sequence[StoreMember]:
    query = select(StoreMember).where(StoreMember.store_id == store_id, StoreMember.telegram_user_id.is_not(None))
    return (await session.scalars(query.order_by(StoreMember.id))).all()


async def linked_operators(session: AsyncSession) -> Sequence[Operator]:
    """Operators and admins who linked a Telegram account (escalations reach them there)."""
    query = select(Operator).where(
        Operator.role.in_(STAFF_ROLES), Operator.is_active.is_(True), Operator.telegram_user_id.is_not(None)
    )
    return (await session.scalars(query.order_by(Operator.id))).all()


async def contact_of(session: AsyncSession, order: Order) -> Contact | None:
    return await session.get(Contact, order.contact_id) if order.contact_id else None


async def store_of(session: AsyncSession, order: Order) -> Store:
    store = await session.get(Store, order.store_id)
    assert store is not None
    return store
