"""A shop with products and two Telegram staff members, and a customer, on real PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts import contact_for_telegram
from core.i18n import Translator, load_translator
from core.models import Contact, Product, Store, StoreMember
from core.orders import staff, stores
from core.orders.actors import Actor, customer
from core.orders.placing import DraftItem, OrderDraft
from core.services.contacts import TelegramProfile


@dataclass
class Customer:
    """The shop's Telegram customer: the contact and the Telegram user id its identity holds."""

    contact: Contact
    telegram_user_id: int

    @property
    def id(self) -> int:
        return self.contact.id


@dataclass
class Shop:
    store: Store
    pizza: Product
    cola: Product
    anna: StoreMember
    boris: StoreMember
    customer: Customer

    @property
    def customer_actor(self) -> Actor:
        return customer(self.customer.contact)

    def delivery_draft(self, **changes: object) -> OrderDraft:
        values: dict[str, object] = {
            "store_id": self.store.id,
            "kind": "delivery",
            "items": (DraftItem(self.pizza.id, 2, self.pizza.price_minor), DraftItem(self.cola.id, 1)),
            "customer_name": "Ivan Petrov",
            "customer_phone": "+7 900 123-45-67",
            "address": "Lenina 1, flat 2",
            "language": "ru",
            "source": "telegram",
        }
        values.update(changes)
        return OrderDraft(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def translator() -> Translator:
    return load_translator()


async def make_shop(session: AsyncSession, name: str = "Pizza Roma", first_user: int = 5001) -> Shop:
    store = await stores.create_store(session, name=name)
    pizza = await stores.add_product(session, store_id=store.id, name="Margherita", price_minor=55000)
    cola = await stores.add_product(session, store_id=store.id, name="Cola", price_minor=12050)
    members = []
    for offset, (first, lang) in enumerate((("Anna", "ru"), ("Boris", "en"))):
        token = await staff.create_invite(session, store.id)
        _, member = await staff.join_with_invite(
            session, token, TelegramProfile(user_id=first_user + offset, first_name=first, language_code=lang)
        )
        members.append(member)
    contact = await contact_for_telegram(
        session, TelegramProfile(user_id=first_user + 900, first_name="Ivan", last_name="Petrov", language_code="ru")
    )
    return Shop(store, pizza, cola, members[0], members[1], Customer(contact, first_user + 900))


@pytest.fixture
async def shop(sessions: async_sessionmaker[AsyncSession]) -> Shop:
    async with sessions() as session, session.begin():
        return await make_shop(session)
