"""A store's staff: single-use, expiring invite links; joining, leaving, removal."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import normalize_language
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import N_
from core.models import Operator, Product, Store, StoreInvite, StoreMember
from core.orders.errors import InviteInvalid
from core.orders.stores import get_store
from core.security import new_token, token_digest
from core.services import audit
from core.services.contacts import TelegramProfile

log = logging.getLogger(__name__)

INVITE_PREFIX = "partner_"
DEFAULT_INVITE_TTL = timedelta(days=2)


def start_payload(token: str) -> str:
    """What `/start` carries for an invite: partner_<token>."""
    return f"{INVITE_PREFIX}{token}"


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={start_payload(token)}"


async def create_invite(
    session: AsyncSession,
    store_id: int,
    *,
    created_by: int | None = None,
    ttl: timedelta = DEFAULT_INVITE_TTL,
    now: datetime | None = None,
) -> str:
    """Returns the token (shown once); only its digest is stored. 32 characters keep the
    `/start partner_<token>` payload within Telegram's 64."""
    store = await get_store(session, store_id)
    token = new_token(24)
    session.add(StoreInvite(store_id=store.id, token_digest=token_digest(token), created_by=created_by,
                            expires_at=(now or datetime.now(UTC)) + ttl))
    audit.record(session, actor_kind="operator" if created_by else "system", actor_id=created_by,
                 action="store.invite", object_type="store", object_id=store.id)
    await session.flush()
    return token


async def join_with_invite(
    session: AsyncSession, token: str, profile: TelegramProfile, *, now: datetime | None = None
) -> tuple[Store, StoreMember]:
    """Consume the invite (row-locked: two people racing for one link, one wins) and add the member.
    Someone already on the staff keeps the link unused."""
    invite = await session.scalar(
        select(StoreInvite).where(StoreInvite.token_digest == token_digest(token)).with_for_update()
    )
    moment = now or datetime.now(UTC)
    if invite is None or invite.used_at is not None or invite.expires_at <= moment:
        raise InviteInvalid("invite is unknown, used or expired")
    store = await get_store(session, invite.store_id)
    existing = await session.scalar(
        select(StoreMember).where(StoreMember.store_id == store.id, StoreMember.telegram_user_id == profile.user_id)
    )
    if existing is not None:
        return store, existing
    member_id = (await session.execute(
        insert(StoreMember)
        .values(store_id=store.id, telegram_user_id=profile.user_id,
                name=profile.full_name[:128] or str(profile.user_id),
                language=normalize_language(profile.language_code))
        .returning(StoreMember.id)
    )).scalar_one()
    invite.used_at = moment
    invite.used_by_member_id = member_id
    await session.flush()
    member = await session.get(StoreMember, member_id)
    assert member is not None
    log.info("store member joined", extra={"store": store.id, "member": member_id})
    return store, member


async def memberships(session: AsyncSession, telegram_user_id: int) -> list[StoreMember]:
    query = select(StoreMember).where(StoreMember.telegram_user_id == telegram_user_id).order_by(StoreMember.id)
    return list(await session.scalars(query))


async def leave_store(session: AsyncSession, store_id: int, telegram_user_id: int) -> None:
    member = await session.scalar(
        select(StoreMember).where(StoreMember.store_id == store_id, StoreMember.telegram_user_id == telegram_user_id)
    )
    if member is None:
        raise NotFound("membership", store_id=store_id)
    await session.delete(member)
    await session.flush()
    log.info("store member left", extra={"store": store_id, "member": member.id})


async def remove_member(
    session: AsyncSession, member_id: int, *, actor_role: str, actor_id: int | None, store_id: int | None = None
) -> StoreMember:
    """An admin removes a member (of `store_id`, when given: another store's member is not found).
    Returns the removed row, so the caller can cut off the member's live connections."""
    if actor_role != "admin":
        raise NotAllowed("only an admin removes staff")
    member = await session.get(StoreMember, member_id)
    if member is None or (store_id is not None and member.store_id != store_id):
        raise NotFound("member", member_id=member_id)
    audit.record(session, actor_kind="operator", actor_id=actor_id, action="store.member_removed",
                 object_type="store", object_id=member.store_id, member_id=member_id)
    await session.delete(member)
    await session.flush()
    return member


async def add_panel_member(
    session: AsyncSession, store_id: int, operator_id: int, *, actor_id: int | None
) -> StoreMember:
    """Give a partner's panel account the store: it then sees and moves the store's orders in the
    panel and on the live board. Staff accounts see every store already, so only partners are linked."""
    store = await get_store(session, store_id)
    operator = await session.get(Operator, operator_id)
    if operator is None or operator.role != "partner" or not operator.is_active:
        raise InvalidInput(N_("Only an active partner account can be given a store."), field="operator_id")
    existing = await session.scalar(
        select(StoreMember).where(StoreMember.store_id == store.id, StoreMember.operator_id == operator.id)
    )
    if existing is not None:
        return existing
    member = StoreMember(store_id=store.id, operator_id=operator.id, name=operator.display_name[:128],
                         language=normalize_language(operator.language))
    session.add(member)
    await session.flush()
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="store.member_added", object_type="store", object_id=store.id, member_id=member.id,
                 operator_id=operator.id)
    log.info("store panel member added", extra={"store": store.id, "member": member.id, "operator": operator.id})
    return member


@dataclass(frozen=True)
class StoreSheet:
    """What the panel shows of a store: its staff, its whole catalogue and how many invites are open."""

    store: Store
    members: list[StoreMember]
    products: list[Product]
    open_invites: int


async def store_sheets(session: AsyncSession, stores: Sequence[Store], *, now: datetime | None = None,
                       ) -> list[StoreSheet]:
    """Each store with its staff, catalogue (unavailable products included, in display order) and
    open invites (not used, not expired): three statements for any number of stores."""
    ids = [store.id for store in stores]
    if not ids:
        return []
    members: dict[int, list[StoreMember]] = defaultdict(list)
    for member in await session.scalars(select(StoreMember).where(StoreMember.store_id.in_(ids))
                                        .order_by(StoreMember.id)):
        members[member.store_id].append(member)
    products: dict[int, list[Product]] = defaultdict(list)
    for product in await session.scalars(select(Product).where(Product.store_id.in_(ids))
                                         .order_by(Product.position, Product.id)):
        products[product.store_id].append(product)
    moment = now or datetime.now(UTC)
    invites = dict((await session.execute(
        select(StoreInvite.store_id, func.count()).where(StoreInvite.store_id.in_(ids), StoreInvite.used_at.is_(None),
                                                          StoreInvite.expires_at > moment)
        .group_by(StoreInvite.store_id)
    )).tuples().all())
    return [StoreSheet(store, members[store.id], products[store.id], invites.get(store.id, 0)) for store in stores]
