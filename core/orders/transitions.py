"""ChangeOrderStatus: the one way an order moves. The row lock makes two presses at once give
exactly one transition; the loser learns who won."""

from __future__ import annotations

import logging

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotAllowed, NotFound, TransitionNotAllowed
from core.i18n import Translator
from core.models import Order, OrderTransition
from core.orders import notify, repo
from core.orders.actors import Actor
from core.orders.errors import AlreadyChanged
from core.orders.statuses import NEEDS_REASON, ORDER_STATUSES, customer_may_set, staff_may_set, transition_allowed

log = logging.getLogger(__name__)

MAX_REASON = 500


async def change_status(
    session: AsyncSession,
    translator: Translator,
    *,
    order_id: int,
    new_status: str,
    actor: Actor,
    reason: str | None = None,
    expected: str | None = None,
) -> Order:
    """Move an order to `new_status`. `expected` is the status the actor saw (a button carries it):
    when the order has moved since, AlreadyChanged names the status and who moved it."""
    if new_status not in ORDER_STATUSES:
        raise InvalidInput("unknown status", field="status")
    order = await repo.lock_order(session, order_id)
    if order is None or not actor.may_see(order):
        raise NotFound("order", order_id=order_id)
    current = order.status
    if expected is not None and current != expected:
        raise AlreadyChanged(order.id, current, await repo.last_actor_name(session, order.id) or "")
    if not transition_allowed(order.kind, current, new_status):
        raise TransitionNotAllowed(f"{current} -> {new_status}", current=current, requested=new_status)
    _check_actor(actor, current, new_status)
    reason = _clean_reason(reason, required=new_status in NEEDS_REASON and actor.kind != "customer")
    await _apply(session, order, new_status, actor, reason)
    await notify.publish(session, order, "order.updated")
    await notify.notify_customer(session, translator, order, by_customer=actor.kind == "customer")
    await notify.alert_members(session, translator, order, tag=f"status:{new_status}")
    log.info("order status changed",
             extra={"order": order.id, "from": current, "to": new_status, "actor_kind": actor.kind})
    return order


def _check_actor(actor: Actor, current: str, new_status: str) -> None:
    if actor.kind == "customer":
        if not customer_may_set(current, new_status):
            raise NotAllowed("a customer may only cancel a pending order", current=current, requested=new_status)
    elif actor.kind in ("partner", "operator", "admin"):
        if not staff_may_set(current, new_status):
            raise TransitionNotAllowed("reject a pending order instead", current=current, requested=new_status)
    else:
        raise NotAllowed("this actor cannot change orders")


def _clean_reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise InvalidInput("a reason is required", field="reason")
    if len(text) > MAX_REASON:
        raise InvalidInput("reason too long", field="reason", max_length=MAX_REASON)
    return text or None


async def _apply(session: AsyncSession, order: Order, new_status: str, actor: Actor, reason: str | None) -> None:
    previous = order.status
    order.status = new_status
    order.updated_at = func.now()
    if reason is not None:
        order.reason = reason
    if new_status == "preparing":
        order.accepted_at = func.now()
    record(session, order.id, previous, new_status, actor, reason)
    await session.flush()
    await session.refresh(order)


def record(
    session: AsyncSession, order_id: int, previous: str | None, new_status: str, actor: Actor, reason: str | None
) -> None:
    session.add(OrderTransition(order_id=order_id, from_status=previous, to_status=new_status,
                                actor_kind=actor.kind, actor_id=actor.id, actor_name=actor.name[:128],
                                reason=reason))
