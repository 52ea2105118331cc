"""The JSON shape of an order, shared by events and the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.models import Order, OrderItem, OrderTransition
from core.orders.statuses import staff_actions


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_payload(
    order: Order, items: Sequence[OrderItem], history: Sequence[OrderTransition] | None = None
) -> dict[str, Any]:
    """Phone and address stay hidden until the store accepts the order."""
    accepted = order.accepted_at is not None
    payload: dict[str, Any] = {
        "id": order.id,
        "store_id": order.store_id,
        "kind": order.kind,
        "status": order.status,
        "source": order.source,
        "customer_name": order.customer_name,
        "customer_phone": order.customer_phone if accepted else None,
        "address": order.address if accepted else None,
        "comment": order.comment,
        "scheduled_at": _iso(order.scheduled_at),
        "party_size": order.party_size,
        "total_minor": order.total_minor,
        "currency": order.currency,
        "reason": order.reason,
        "escalated": order.escalated_at is not None,
        "actions": staff_actions(order.kind, order.status),
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "items": [
            {"product_id": item.product_id, "name": item.name, "quantity": item.quantity,
             "unit_price_minor": item.unit_price_minor}
            for item in items
        ],
    }
    if history is not None:
        payload["history"] = [
            {"from": step.from_status, "to": step.to_status, "actor_kind": step.actor_kind,
             "actor_name": step.actor_name, "reason": step.reason, "at": _iso(step.created_at)}
            for step in history
        ]
    return payload
