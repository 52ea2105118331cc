"""PlaceOrder: a customer (bot) or a store's website submits a draft; items are checked against
the store's products and prices, totals are computed in minor units, the store is alerted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.channels import channels_of
from core.domain import normalize_language
from core.i18n import Translator
from core.models import Order, OrderItem, Product, Store
from core.orders import notify, validation
from core.orders.actors import Actor
from core.orders.errors import OrderInvalid
from core.orders.statuses import ORDER_KINDS, PANEL_SOURCE
from core.orders.transitions import record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DraftItem:
    product_id: int
    quantity: int
    unit_price_minor: int | None = None  # the price the customer saw; must still hold


@dataclass(frozen=True)
class OrderDraft:
    store_id: int
    kind: str
    items: tuple[DraftItem, ...] = ()
    customer_name: str = ""
    customer_phone: str = ""
    address: str = ""
    comment: str = ""
    scheduled_at: datetime | None = None
    party_size: int | None = None
    language: str = "en"
    source: str = ""  # the channel the order came from (a registry name), or PANEL_SOURCE
    errors: dict[str, str] = field(default_factory=dict)  # found while parsing, reported together


async def place_order(
    session: AsyncSession, translator: Translator, draft: OrderDraft, actor: Actor, *, now: datetime | None = None
) -> Order:
    errors = dict(draft.errors)
    store = await session.get(Store, draft.store_id)
    if store is None:
        raise OrderInvalid({"store_id": "unknown_store"})
    if not store.is_active:
        raise OrderInvalid({"store_id": "store_inactive"})
    if draft.source != PANEL_SOURCE and draft.source not in channels_of(session):
        errors.setdefault("source", "unknown_source")
    for name, problem in _check_fields(draft, now or datetime.now(UTC)).items():
        errors.setdefault(name, problem)  # a parse error of the same field says more
    products = await _products(session, store.id, draft.items)
    lines = _check_items(draft, products, errors)
    if errors:
        raise OrderInvalid(errors)
    order = Order(
        store_id=store.id, contact_id=actor.contact_id, kind=draft.kind, source=draft.source,
        language=normalize_language(draft.language), customer_name=draft.customer_name.strip(),
        customer_phone=draft.customer_phone.strip(), address=draft.address.strip(), comment=draft.comment.strip(),
        scheduled_at=draft.scheduled_at, party_size=draft.party_size, currency=store.currency,
        total_minor=sum(line.unit_price_minor * line.quantity for line in lines),
    )
    session.add(order)
    await session.flush()
    for line in lines:
        line.order_id = order.id
    session.add_all(lines)
    record(session, order.id, None, "pending", actor, None)
    await session.flush()
    await session.refresh(order)
    await notify.publish(session, order, "order.created")
    await notify.alert_members(session, translator, order, tag="status:pending")
    log.info("order placed", extra={"order": order.id, "store": store.id, "source": draft.source})
    return order


def _check_fields(draft: OrderDraft, now: datetime) -> dict[str, str]:
    errors: dict[str, str] = {}
    if draft.kind not in ORDER_KINDS:
        return {"kind": "unknown_kind"}
    for name in ("customer_name", "address", "comment"):
        if problem := validation.text_error(name, getattr(draft, name)):
            errors[name] = problem
    if not draft.customer_name.strip():
        errors["customer_name"] = "required"
    needs_phone = draft.kind == "delivery"
    if draft.customer_phone.strip():
        if problem := validation.phone_error(draft.customer_phone.strip()):
            errors["customer_phone"] = problem
    elif needs_phone:
        errors["customer_phone"] = "required"
    if draft.kind == "delivery" and not draft.address.strip():
        errors["address"] = "required"
    if problem := validation.schedule_error(draft.scheduled_at, now, required=draft.kind == "booking"):
        errors["scheduled_at"] = problem
    if (draft.kind == "booking" or draft.party_size is not None) and (
        problem := validation.party_error(draft.party_size)
    ):
        errors["party_size"] = problem
    if draft.kind != "booking" and not draft.items:
        errors["items"] = "empty"
    if len(draft.items) > validation.MAX_ITEMS:
        errors["items"] = "too_many"
    return errors


async def _products(session: AsyncSession, store_id: int, items: Sequence[DraftItem]) -> dict[int, Product]:
    ids = {item.product_id for item in items if 0 < item.product_id <= validation.MAX_ID}
    if not ids:
        return {}
    rows = await session.scalars(select(Product).where(Product.store_id == store_id, Product.id.in_(ids)))
    return {product.id: product for product in rows}


def _check_items(draft: OrderDraft, products: dict[int, Product], errors: dict[str, str]) -> list[OrderItem]:
    lines = []
    for index, item in enumerate(draft.items[: validation.MAX_ITEMS]):
        where = f"items[{index}]"
        product = products.get(item.product_id)
        if product is None:
            errors.setdefault(f"{where}.product_id", "unknown_product")
            continue
        if not product.available:
            errors.setdefault(f"{where}.product_id", "unavailable")
        if problem := validation.quantity_error(item.quantity):
            errors.setdefault(f"{where}.quantity", problem)
        if item.unit_price_minor is not None and item.unit_price_minor != product.price_minor:
            errors.setdefault(f"{where}.unit_price_minor", "price_changed")
        lines.append(OrderItem(product_id=product.id, name=product.name,
                               unit_price_minor=product.price_minor, quantity=item.quantity))
    return lines
