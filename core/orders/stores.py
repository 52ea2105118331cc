"""Stores, products, the store's API token and its reminder settings."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.i18n import N_
from core.models import Product, Store
from core.security import new_token, token_digest
from core.services import audit
from core.zones import check_time_zone

MAX_REMINDER_MINUTES = 24 * 60


def zone_of(store: Store) -> ZoneInfo:
    """The store's local time (bookings are picked in it, order times are shown in it)."""
    try:
        return ZoneInfo(store.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _name(value: str, message: str) -> str:
    """A store's or product's name: 1 to 128 characters once trimmed."""
    name = value.strip()
    if not name or len(name) > 128:
        raise InvalidInput(message, field="name")
    return name


def _store_name(value: str) -> str:
    return _name(value, N_("A store name is 1 to 128 characters."))


def _product_name(value: str) -> str:
    return _name(value, N_("A product name is 1 to 128 characters."))


def _price(value: int) -> int:
    if value < 0:
        raise InvalidInput(N_("A price cannot be negative."), field="price_minor")
    return value


async def create_store(
    session: AsyncSession, *, name: str, currency: str = "RUB", time_zone: str = "UTC", actor_id: int | None = None
) -> Store:
    name = _store_name(name)
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput(N_("A currency is a three-letter code such as RUB."), field="currency")
    store = Store(name=name, currency=currency.upper(), time_zone=check_time_zone(time_zone.strip()).key)
    session.add(store)
    await session.flush()
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="store.created", object_type="store", object_id=store.id)
    return store


async def get_store(session: AsyncSession, store_id: int) -> Store:
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound("store", store_id=store_id)
    return store


async def add_product(
    session: AsyncSession,
    *,
    store_id: int,
    name: str,
    price_minor: int,
    description: str = "",
    photo: str | None = None,
    available: bool = True,
) -> Product:
    store = await get_store(session, store_id)
    name, price_minor = _product_name(name), _price(price_minor)
    position = await session.scalar(select(Product.id).where(Product.store_id == store.id).order_by(Product.id.desc()))
    product = Product(store_id=store.id, name=name, description=description, price_minor=price_minor,
                      currency=store.currency, photo=photo, available=available, position=(position or 0) + 1)
    session.add(product)
    await session.flush()
    return product


async def catalogue(session: AsyncSession, store_id: int) -> list[Product]:
    """What a customer may order now, in display order."""
    query = select(Product).where(Product.store_id == store_id, Product.available.is_(True))
    return list(await session.scalars(query.order_by(Product.position, Product.id)))


async def all_stores(session: AsyncSession, store_ids: frozenset[int] | None = None) -> list[Store]:
    """Every store (admins and operators), or only `store_ids` (a partner's own)."""
    query = select(Store).order_by(Store.name, Store.id)
    if store_ids is not None:
        query = query.where(Store.id.in_(sorted(store_ids)))
    return list(await session.scalars(query))


async def update_store(
    session: AsyncSession, store_id: int, *, actor_id: int | None, name: str | None = None,
    is_active: bool | None = None, time_zone: str | None = None, remind_after: int | None = None,
    escalate_after: int | None = None,
) -> Store:
    """Change what is given; a reminder delay left out keeps its current value."""
    store = await get_store(session, store_id)
    if time_zone is not None:
        store.time_zone = check_time_zone(time_zone.strip()).key
    if name is not None:
        store.name = _store_name(name)
    if is_active is not None:
        store.is_active = is_active
    if remind_after is not None or escalate_after is not None:
        await set_reminders(session, store.id, remind_after=remind_after or store.remind_after_minutes,
                            escalate_after=escalate_after or store.escalate_after_minutes)
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="store.updated", object_type="store", object_id=store.id,
                 name=name, is_active=is_active, time_zone=time_zone)
    await session.flush()
    return store


async def store_product(session: AsyncSession, store_id: int, product_id: int) -> Product:
    """A product of this store (NotFound for another store's, as for a missing one)."""
    product = await session.get(Product, product_id)
    if product is None or product.store_id != store_id:
        raise NotFound("product", product_id=product_id)
    return product


async def update_product(
    session: AsyncSession, store_id: int, product_id: int, *, name: str | None = None,
    price_minor: int | None = None, available: bool | None = None,
) -> Product:
    product = await store_product(session, store_id, product_id)
    if name is not None:
        product.name = _product_name(name)
    if price_minor is not None:
        product.price_minor = _price(price_minor)
    if available is not None:
        product.available = available
    await session.flush()
    return product


async def open_stores(session: AsyncSession) -> list[Store]:
    return list(await session.scalars(select(Store).where(Store.is_active.is_(True)).order_by(Store.name, Store.id)))


async def issue_api_token(session: AsyncSession, store_id: int, *, actor_id: int | None = None) -> str:
    """A new token for the store's website; the old one stops working. Shown once, kept as a digest."""
    store = await get_store(session, store_id)
    token = "st_" + new_token(24)
    store.api_token_digest = token_digest(token)
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="store.api_token", object_type="store", object_id=store.id)
    await session.flush()
    return token


async def store_for_api_token(session: AsyncSession, token: str) -> Store | None:
    if not token:
        return None
    store = await session.scalar(select(Store).where(Store.api_token_digest == token_digest(token)))
    return store if store is not None and store.is_active else None


async def set_reminders(session: AsyncSession, store_id: int, *, remind_after: int, escalate_after: int) -> Store:
    """N minutes pending → remind the staff; M minutes → escalate to operators (M > N)."""
    store = await get_store(session, store_id)
    if not 1 <= remind_after <= MAX_REMINDER_MINUTES:
        raise InvalidInput(N_("Remind after 1 minute to 24 hours."), field="remind_after_minutes")
    if not remind_after < escalate_after <= MAX_REMINDER_MINUTES:
        raise InvalidInput(N_("Escalate later than the reminder, within 24 hours."), field="escalate_after_minutes")
    store.remind_after_minutes = remind_after
    store.escalate_after_minutes = escalate_after
    await session.flush()
    return store
