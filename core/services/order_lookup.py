"""The "order status" intent asks here: the customer's own order by its number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Order, Store

MAX_ORDER_ID = 2**63 - 1


@dataclass(frozen=True)
class OrderStatusView:
    number: str
    status: str  # one of the order statuses (core.domain), translated by the front
    store_name: str = ""
    reason: str | None = None


async def order_status_for_contact(session: AsyncSession, contact_id: int, number: str) -> OrderStatusView | None:
    """The customer's own order with this number, or None (not found or not theirs: the same answer)."""
    digits = number.strip().lstrip("#№")
    if not digits.isdigit() or int(digits) > MAX_ORDER_ID:
        return None
    order = await session.get(Order, int(digits))
    if order is None or order.contact_id != contact_id:
        return None
    store = await session.get(Store, order.store_id)
    return OrderStatusView(number=str(order.id), status=order.status, store_name=store.name if store else "",
                           reason=order.reason)
