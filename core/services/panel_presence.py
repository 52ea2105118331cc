"""Panel sockets and who is looking at which ticket, one row per socket in PostgreSQL so every
process sees the same. Keeps `core.services.presence` (operator-level heartbeat, which the bot
asks before "nobody is online" alerts) in step: touched while a socket is open, left when the
operator's last socket anywhere closes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.domain import STAFF_ROLES
from core.models import Operator, Presence
from core.services import presence as operator_presence

# A row not refreshed for this long belongs to a dead process or a lost socket.
STALE_AFTER = timedelta(seconds=90)
# An operator's first socket opened or last one closed: the Connections page reads its snapshot again.
ONLINE_CHANGED = "presence.online"


async def connected(session: AsyncSession, connection_id: str, operator_id: int, role: str) -> None:
    was_online = await _has_socket(session, operator_id)
    await session.execute(
        insert(Presence).values(connection_id=connection_id, operator_id=operator_id, role=role)
        .on_conflict_do_nothing()
    )
    if role in STAFF_ROLES:
        await operator_presence.touch_presence(session, operator_id)
    if not was_online:
        _online_changed(session, operator_id, online=True)


async def disconnected(session: AsyncSession, connection_id: str) -> None:
    gone = (
        await session.execute(
            delete(Presence).where(Presence.connection_id == connection_id)
            .returning(Presence.ticket_id, Presence.operator_id)
        )
    ).one_or_none()
    if gone is None:
        return
    ticket_id, operator_id = gone
    if ticket_id is not None:
        await _announce_viewers(session, int(ticket_id))
    if not await _has_socket(session, int(operator_id)):
        await operator_presence.leave_presence(session, operator_id)
        _online_changed(session, int(operator_id), online=False)


async def _has_socket(session: AsyncSession, operator_id: int) -> bool:
    others = await session.scalar(
        select(Presence.connection_id)
        .where(Presence.operator_id == operator_id, Presence.seen_at >= func.now() - STALE_AFTER).limit(1)
    )
    return others is not None


def _online_changed(session: AsyncSession, operator_id: int, *, online: bool) -> None:
    """Only on a change of state, not per socket: every page of the panel opens a socket of its own."""
    events.publish(session, ONLINE_CHANGED, {"operator_id": operator_id, "online": online}, audience="admin")


async def viewing(session: AsyncSession, connection_id: str, ticket_id: int | None) -> None:
    """The socket's page now shows `ticket_id` (None: no ticket); viewers of both tickets are told."""
    old = await session.scalar(
        select(Presence.ticket_id).where(Presence.connection_id == connection_id).with_for_update()
    )
    if old == ticket_id:
        return
    await session.execute(
        update(Presence).where(Presence.connection_id == connection_id).values(ticket_id=ticket_id, seen_at=func.now())
    )
    for changed in {old, ticket_id} - {None}:
        await _announce_viewers(session, int(changed))  # type: ignore[arg-type]


async def refresh(session: AsyncSession, connection_ids: list[str]) -> None:
    """Heartbeat for this process's sockets, and removal of rows nobody refreshed."""
    if connection_ids:
        staff = await session.scalars(
            update(Presence).where(Presence.connection_id.in_(connection_ids)).values(seen_at=func.now())
            .returning(Presence.operator_id).where(Presence.role.in_(STAFF_ROLES))
        )
        for operator_id in sorted(set(staff)):
            await operator_presence.touch_presence(session, operator_id)
    await session.execute(delete(Presence).where(Presence.seen_at < func.now() - STALE_AFTER * 4))


async def viewers(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(Operator.id, Operator.display_name)
            .join(Presence, Presence.operator_id == Operator.id)
            .where(Presence.ticket_id == ticket_id, Presence.seen_at >= func.now() - STALE_AFTER)
            .distinct()
            .order_by(Operator.id)
        )
    ).all()
    return [{"operator_id": r.id, "display_name": r.display_name} for r in rows]


async def _announce_viewers(session: AsyncSession, ticket_id: int) -> None:
    await session.flush()
    events.publish(session, "presence.viewers", {"ticket_id": ticket_id, "viewers": await viewers(session, ticket_id)},
                   ticket_id=ticket_id)


async def online_operators(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(Operator.id, Operator.display_name, Operator.role, func.count(Presence.connection_id))
            .join(Presence, Presence.operator_id == Operator.id)
            .where(Presence.seen_at >= func.now() - STALE_AFTER, Operator.is_active.is_(True))
            .group_by(Operator.id)
            .order_by(Operator.display_name)
        )
    ).all()
    return [{"operator_id": r[0], "display_name": r[1], "role": r[2], "sockets": int(r[3])} for r in rows]
