"""Who may do what. Objects a principal may not see are reported as missing, never as forbidden."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import STAFF_ROLES
from core.errors import NotAllowed, NotFound
from core.events import Principal
from core.models import Operator, StoreMember, Ticket


async def store_ids_for(session: AsyncSession, operator: Operator) -> frozenset[int]:
    """The stores a partner's panel account is a member of (a partner in no store sees no store data)."""
    stores = await session.scalars(select(StoreMember.store_id).where(StoreMember.operator_id == operator.id))
    return frozenset(stores)


async def principal_for(session: AsyncSession, operator: Operator) -> Principal:
    stores = await store_ids_for(session, operator) if operator.role == "partner" else frozenset()
    return Principal(role=operator.role, operator_id=operator.id, store_ids=stores)


def is_staff(operator: Operator) -> bool:
    return operator.role in STAFF_ROLES


def require_staff(operator: Operator) -> None:
    if not is_staff(operator):
        raise NotAllowed("staff only")


def require_admin(operator: Operator) -> None:
    if operator.role != "admin":
        raise NotAllowed("admin only")


async def visible_ticket(session: AsyncSession, operator: Operator, ticket_id: int) -> Ticket:
    """Tickets are staff data: a partner (or anyone else) gets NotFound, exactly as for a missing id."""
    ticket = await session.get(Ticket, ticket_id) if is_staff(operator) else None
    if ticket is None:
        raise NotFound("ticket", ticket_id=ticket_id)
    return ticket
