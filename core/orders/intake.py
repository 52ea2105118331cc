"""Website intake with an Idempotency-Key: a retried request returns the order it created;
the same key with a different body is refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.i18n import Translator
from core.models import Order, OrderIntakeKey, Store
from core.orders.actors import Actor
from core.orders.errors import IdempotencyMismatch
from core.orders.placing import OrderDraft, place_order

MAX_KEY = 255


def body_digest(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def website_actor(store: Store) -> Actor:
    return Actor(kind="partner", name=f"{store.name} (website)", store_ids=frozenset({store.id}))


async def intake_order(
    session: AsyncSession, translator: Translator, store: Store, key: str, digest: str, draft: OrderDraft
) -> tuple[Order, bool]:
    """A store website's POST /api/orders under its Idempotency-Key."""
    return await place_once(session, translator, draft, website_actor(store), key=key, digest=digest)


async def place_once(
    session: AsyncSession, translator: Translator, draft: OrderDraft, actor: Actor, *, key: str, digest: str
) -> tuple[Order, bool]:
    """Place an order at most once per (store, key); returns (order, created). Two identical
    requests at once: the second waits on the key's unique index until the first commits, then
    returns the first's order. A refused draft rolls the key back with it, so the client may fix
    the body and retry under the same key."""
    if not key or len(key) > MAX_KEY:
        raise InvalidInput("Idempotency-Key", field="Idempotency-Key")
    inserted = (await session.execute(
        insert(OrderIntakeKey).values(store_id=draft.store_id, key=key, body_digest=digest)
        .on_conflict_do_nothing(constraint="uq_order_intake_key_store_key").returning(OrderIntakeKey.id)
    )).scalar_one_or_none()
    if inserted is None:
        return await _replay(session, draft.store_id, key, digest), False
    order = await place_order(session, translator, draft, actor)
    await session.execute(update(OrderIntakeKey).where(OrderIntakeKey.id == inserted).values(order_id=order.id))
    return order, True


async def _replay(session: AsyncSession, store_id: int, key: str, digest: str) -> Order:
    seen = await session.scalar(
        select(OrderIntakeKey).where(OrderIntakeKey.store_id == store_id, OrderIntakeKey.key == key)
    )
    assert seen is not None
    if seen.body_digest != digest:
        raise IdempotencyMismatch("Idempotency-Key reused with a different body", field="Idempotency-Key")
    order = await session.get(Order, seen.order_id) if seen.order_id else None
    if order is None:
        raise NotFound("order")
    return order
