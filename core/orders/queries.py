"""Reading orders with the actor's scope applied: a partner sees its stores, a customer their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.models import Order
from core.orders import repo
from core.orders.actors import Actor
from core.orders.payloads import order_payload
from core.orders.statuses import OPEN_STATUSES, ORDER_STATUSES

MAX_PAGE = 200


def _scoped(actor: Actor) -> Any:
    query = select(Order)
    if actor.is_staff:
        return query
    if actor.kind == "partner":
        return query.where(Order.store_id.in_(sorted(actor.store_ids)))
    if actor.kind == "customer":
        return query.where(Order.contact_id == actor.contact_id)
    return query.where(Order.id.is_(None))


async def list_orders(
    session: AsyncSession,
    actor: Actor,
    *,
    status: str | None = None,
    store_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first; `before_id` is the cursor (the last id of the previous page)."""
    if status is not None and status not in ORDER_STATUSES:
        raise InvalidInput("unknown status", field="status")
    query = _scoped(actor)
    if status is not None:
        query = query.where(Order.status == status)
    if store_id is not None:
        query = query.where(Order.store_id == store_id)
    if before_id is not None:
        query = query.where(Order.id < before_id)
    orders: Sequence[Order] = (
        await session.scalars(query.order_by(Order.id.desc()).limit(max(1, min(limit, MAX_PAGE))))
    ).all()
    items = await repo.items_by_order(session, [order.id for order in orders])
    return [order_payload(order, items[order.id]) for order in orders]


async def get_order(session: AsyncSession, actor: Actor, order_id: int) -> Order:
    """NotFound for an order outside the actor's scope: nobody learns that it exists."""
    order = await session.get(Order, order_id)
    if order is None or not actor.may_see(order):
        raise NotFound("order", order_id=order_id)
    return order


async def order_details(session: AsyncSession, actor: Actor, order_id: int) -> dict[str, Any]:
    order = await get_order(session, actor, order_id)
    return order_payload(order, await repo.items_of(session, order.id), await repo.history_of(session, order.id))


async def customer_orders(session: AsyncSession, contact_id: int, *, limit: int = 10) -> list[Order]:
    query = select(Order).where(Order.contact_id == contact_id).order_by(Order.id.desc()).limit(limit)
    return list(await session.scalars(query))


@dataclass(frozen=True)
class Board:
    columns: dict[str, list[dict[str, Any]]]  # open status -> its oldest orders, oldest first
    more: dict[str, int]  # open status -> how many newer ones the column leaves out


async def board(session: AsyncSession, actor: Actor, *, per_status: int = 100) -> Board:
    """The live board's first paint: the oldest `per_status` open orders of each status (events keep
    it current), and how many each column leaves out. Three statements however long the queues."""
    scoped = _scoped(actor).where(Order.status.in_(OPEN_STATUSES)).subquery()
    place = func.row_number().over(partition_by=scoped.c.status, order_by=(scoped.c.created_at, scoped.c.id))
    ranked = select(scoped.c.id, place.label("place")).subquery()
    query = (select(Order).join(ranked, ranked.c.id == Order.id).where(ranked.c.place <= per_status)
             .order_by(Order.created_at, Order.id))
    orders = (await session.scalars(query)).all()
    counted = select(scoped.c.status, func.count()).group_by(scoped.c.status)
    totals: dict[str, int] = dict((await session.execute(counted)).tuples().all())
    items = await repo.items_by_order(session, [order.id for order in orders])
    columns: dict[str, list[dict[str, Any]]] = {status: [] for status in OPEN_STATUSES}
    for order in orders:
        columns[order.status].append(order_payload(order, items[order.id]))
    more = {status: totals.get(status, 0) - len(shown) for status, shown in columns.items()}
    return Board(columns, {status: count for status, count in more.items() if count > 0})
