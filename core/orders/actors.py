"""Who acts on an order: a customer (by contact), a partner member (by Telegram id or panel
account), an operator or admin, or the system. Scope checks live on the actor."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth.permissions import store_ids_for
from core.domain import STAFF_ROLES
from core.events import Principal
from core.models import Contact, Operator, Order, StoreMember


@dataclass(frozen=True)
class Actor:
    """`id` is the contact id (customer), the operator id (operator, admin, partner with a panel
    account) or the Telegram user id (partner acting from Telegram)."""

    kind: str  # customer | partner | operator | admin | system
    name: str
    id: int | None = None
    contact_id: int | None = None
    store_ids: frozenset[int] = field(default_factory=frozenset)
    language: str = "en"

    @property
    def is_staff(self) -> bool:
        return self.kind in STAFF_ROLES

    def may_see(self, order: Order) -> bool:
        if self.is_staff:
            return True
        if self.kind == "partner":
            return order.store_id in self.store_ids
        if self.kind == "customer":
            return order.contact_id is not None and order.contact_id == self.contact_id
        return False

    def principal(self) -> Principal:
        """The same scope for the event stream (core.events.visible_to)."""
        role = self.kind if self.kind in ("admin", "operator") else "partner"
        return Principal(role=role, operator_id=self.id if self.kind != "partner" else None, store_ids=self.store_ids)


SYSTEM = Actor(kind="system", name="system")


def customer(contact: Contact) -> Actor:
    return Actor(kind="customer", name=contact.name, id=contact.id, contact_id=contact.id, language=contact.language)


async def for_operator(session: AsyncSession, operator: Operator, *,
                       store_ids: frozenset[int] | None = None) -> Actor:
    """A panel account as an orders actor. `store_ids`: a partner's stores when the caller has
    already read them (the panel has, for its principal); otherwise they are read here."""
    if operator.role in STAFF_ROLES:
        return Actor(kind=operator.role, name=operator.display_name, id=operator.id, language=operator.language)
    stores = store_ids if store_ids is not None else await store_ids_for(session, operator)
    return Actor(kind="partner", name=operator.display_name, id=operator.id, store_ids=stores,
                 language=operator.language)


async def for_telegram_user(session: AsyncSession, telegram_user_id: int) -> Actor | None:
    """A Telegram user pressing an order button: a linked operator, or a member of some stores."""
    operator = await session.scalar(
        select(Operator).where(Operator.telegram_user_id == telegram_user_id, Operator.is_active.is_(True))
    )
    if operator is not None and operator.role in STAFF_ROLES:
        return await for_operator(session, operator)
    members = (await session.scalars(
        select(StoreMember).where(StoreMember.telegram_user_id == telegram_user_id).order_by(StoreMember.id)
    )).all()
    if not members:
        return None
    first = members[0]
    return Actor(kind="partner", name=first.name, id=telegram_user_id,
                 store_ids=frozenset(member.store_id for member in members), language=first.language)
