"""The demo store: a tea shop with a photographed catalogue, its partner joined from Telegram (the
sandbox), and a few orders on the board."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.demo.cast import CUSTOMERS, partner
from core.i18n import Translator
from core.images import Rgb, cup
from core.models import Order, Store, StoreMember
from core.orders import photos, staff, stores
from core.orders.actors import customer, for_telegram_user
from core.orders.placing import DraftItem, OrderDraft, place_order
from core.orders.transitions import change_status
from core.services.contacts import TelegramProfile, contact_for_identity
from core.storage import AttachmentStore

STORE_NAME = "Green Leaf Tea"


@dataclass(frozen=True)
class Item:
    name: str
    price_minor: int
    description: str
    background: Rgb
    colour: Rgb


CATALOGUE = (
    Item("Sencha green tea, 100 g", 45_000, "Japanese green tea, grassy and fresh. — Японский зелёный чай.",
         (232, 240, 214), (86, 140, 60)),
    Item("Earl Grey, 100 g", 39_000, "Black tea with bergamot. — Чёрный чай с бергамотом.",
         (238, 226, 210), (92, 60, 40)),
    Item("Milk oolong, 50 g", 52_000, "Creamy Taiwanese oolong. — Молочный улун с Тайваня.",
         (244, 236, 200), (190, 150, 70)),
    Item("Herbal mix «Evening», 100 g", 35_000, "Mint, chamomile, linden; no caffeine. — Мята, ромашка, липа.",
         (226, 236, 242), (120, 100, 160)),
    Item("Porcelain cup, 250 ml", 89_000, "White porcelain, dishwasher safe. — Белый фарфор.",
         (214, 226, 240), (250, 250, 250)),
    Item("Glass teapot, 600 ml", 149_000, "Heat-proof glass with a steel strainer. — Жаропрочное стекло.",
         (236, 220, 226), (170, 200, 210)),
)


async def demo_store(session: AsyncSession) -> Store | None:
    """The store the demo partner joined: how a second run finds the first one's store."""
    return await session.scalar(select(Store).join(StoreMember, StoreMember.store_id == Store.id)
                                .where(StoreMember.telegram_user_id == partner("en").id).order_by(Store.id).limit(1))


async def open_store(session: AsyncSession, storage: AttachmentStore, language: str) -> tuple[Store, bool]:
    """The demo store with its catalogue and its partner (joined by an invite, as from Telegram)."""
    store = await demo_store(session)
    if store is not None:
        return store, False
    store = await stores.create_store(session, name=STORE_NAME, currency="RUB", time_zone="Europe/Moscow")
    for item in CATALOGUE:
        product = await stores.add_product(session, store_id=store.id, name=item.name, price_minor=item.price_minor,
                                           description=item.description)
        image = await asyncio.to_thread(cup, item.background, item.colour)
        await photos.set_photo(session, storage, store.id, product.id, image, actor_id=None)
    token = await staff.create_invite(session, store.id)
    person = partner(language)
    await staff.join_with_invite(session, token, TelegramProfile(person.id, person.first_name,
                                                                 username=person.username, language_code=language))
    return store, True


async def place_orders(session: AsyncSession, translator: Translator, store: Store) -> int:
    """Three orders, once: one new (the partner is alerted), one accepted, one ready. Returns how many
    orders the store has."""
    count = int(await session.scalar(select(func.count()).select_from(Order).where(Order.store_id == store.id)) or 0)
    if count:
        return count
    products = await stores.catalogue(session, store.id)
    by_partner = await for_telegram_user(session, partner("en").id)
    assert by_partner is not None  # joined with the store (open_store)
    plans = (("tom", "delivery", ((0, 2), (4, 1)), "12 Baker Street, flat 4", "Ring twice, please", ()),
             ("anna", "pickup", ((1, 1), (3, 2)), "", "Подпишите открытку: «С днём рождения!»", ("preparing",)),
             ("maria", "delivery", ((5, 1),), "7 Harbour Lane", "", ("preparing", "ready")))
    for key, kind, lines, address, comment, moves in plans:
        person = CUSTOMERS[key].user
        contact = await contact_for_identity(session, "telegram", str(person.id), name=person.first_name,
                                             username=person.username, language=person.language_code)
        draft = OrderDraft(store_id=store.id, kind=kind, customer_name=person.first_name,
                           customer_phone="+7 900 555-01-" + str(10 + len(key)), address=address, comment=comment,
                           items=tuple(DraftItem(products[index].id, quantity) for index, quantity in lines),
                           language=person.language_code or "en", source="telegram")
        order = await place_order(session, translator, draft, customer(contact))
        for status in moves:
            await change_status(session, translator, order_id=order.id, new_status=status, actor=by_partner)
    return len(plans)
