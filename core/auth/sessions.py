"""Server-side web sessions: revocable one by one or all at once ("log out everywhere")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Operator, WebSession
from core.security import new_token, token_digest

TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=12)
    absolute: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class OpenedSession:
    token: str
    csrf_token: str
    row: WebSession


async def open_session(
    session: AsyncSession,
    operator: Operator,
    *,
    now: datetime,
    policy: SessionPolicy,
    user_agent: str = "",
    ip: str = "",
) -> OpenedSession:
    token = new_token()
    csrf = new_token(24)
    row = WebSession(
        operator_id=operator.id,
        token_digest=token_digest(token),
        csrf_token=csrf,
        user_agent=user_agent[:256],
        ip=ip[:64],
        created_at=now,
        last_seen_at=now,
        expires_at=min(now + policy.idle, now + policy.absolute),
    )
    session.add(row)
    await session.flush()
    return OpenedSession(token, csrf, row)


async def session_by_token(
    session: AsyncSession, token: str, *, now: datetime, policy: SessionPolicy
) -> tuple[Operator, WebSession] | None:
    """The live session and its active operator, or None. Sliding idle expiry, written at most once a minute."""
    if not token or len(token) > 256:
        return None
    found = (
        await session.execute(
            select(WebSession, Operator)
            .join(Operator, Operator.id == WebSession.operator_id)
            .where(WebSession.token_digest == token_digest(token))
        )
    ).one_or_none()
    if found is None:
        return None
    row, operator = found
    if row.revoked_at is not None or row.expires_at <= now or not operator.is_active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        row.expires_at = min(now + policy.idle, row.created_at + policy.absolute)
        await session.flush()
    return operator, row


async def revoke_session(session: AsyncSession, session_id: int, now: datetime) -> None:
    await session.execute(
        update(WebSession).where(WebSession.id == session_id, WebSession.revoked_at.is_(None)).values(revoked_at=now)
    )


async def revoke_all(session: AsyncSession, operator_id: int, now: datetime) -> int:
    result = await session.execute(
        update(WebSession)
        .where(WebSession.operator_id == operator_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(WebSession.id)
    )
    return len(result.all())


async def live_sessions(session: AsyncSession, operator_id: int, now: datetime) -> list[WebSession]:
    rows = await session.scalars(
        select(WebSession)
        .where(WebSession.operator_id == operator_id, WebSession.revoked_at.is_(None), WebSession.expires_at > now)
        .order_by(WebSession.last_seen_at.desc())
    )
    return list(rows)
