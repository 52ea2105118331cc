"""Personal API tokens (Authorization: Bearer). Shown once; the table keeps digests only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth.sessions import TOUCH_EVERY
from core.errors import InvalidInput, NotFound
from core.models import ApiToken, Operator
from core.security import new_token, token_digest
from core.services import audit

TOKEN_PREFIX = "desk_"  # noqa: S105 - a public marker, not a secret


async def create_api_token(session: AsyncSession, operator: Operator, name: str) -> tuple[str, ApiToken]:
    name = name.strip()
    if not name or len(name) > 128:
        raise InvalidInput("token name", field="name")
    plain = TOKEN_PREFIX + new_token()
    row = ApiToken(operator_id=operator.id, name=name, token_digest=token_digest(plain), prefix=plain[:12])
    session.add(row)
    await session.flush()
    audit.record(session, actor_kind="operator", actor_id=operator.id, action="api_token.created",
                 object_type="api_token", object_id=row.id)
    return plain, row


async def operator_by_api_token(session: AsyncSession, token: str, now: datetime) -> Operator | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 256:
        return None
    found = (
        await session.execute(
            select(ApiToken, Operator)
            .join(Operator, Operator.id == ApiToken.operator_id)
            .where(ApiToken.token_digest == token_digest(token))
        )
    ).one_or_none()
    if found is None:
        return None
    row, operator = found
    if row.revoked_at is not None or not operator.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
        await session.flush()
    return operator


async def list_tokens(session: AsyncSession, actor: Operator, *, everyone: bool = False) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
    if not (everyone and actor.role == "admin"):
        query = query.where(ApiToken.operator_id == actor.id)
    return list(await session.scalars(query))


async def revoke_all_api_tokens(session: AsyncSession, operator_id: int, now: datetime) -> None:
    """Every live token of the operator (disabled, or reset by an admin: "signed out everywhere")."""
    await session.execute(
        update(ApiToken)
        .where(ApiToken.operator_id == operator_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_api_token(session: AsyncSession, actor: Operator, token_id: int, now: datetime) -> None:
    """Owners revoke their own tokens; admins any. Someone else's token is 'not found', not 'forbidden'."""
    row = await session.get(ApiToken, token_id, with_for_update=True)
    if row is None or row.revoked_at is not None or (row.operator_id != actor.id and actor.role != "admin"):
        raise NotFound("api token", token_id=token_id)
    row.revoked_at = now
    audit.record(session, actor_kind="operator", actor_id=actor.id, action="api_token.revoked",
                 object_type="api_token", object_id=row.id)
