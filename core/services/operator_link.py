"""Linking an operator's Telegram account with a one-time deep link (t.me/<bot>?start=link_<token>)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, InvalidInput, NotFound
from core.models import Operator, OperatorLinkToken
from core.security import new_token, token_digest
from core.services import audit

LINK_TTL = timedelta(hours=24)
PREFIX = "link_"


async def create_link_token(session: AsyncSession, operator_id: int, ttl: timedelta = LINK_TTL) -> str:
    """A fresh one-time token; earlier unused ones of the operator stop working."""
    operator = await session.get(Operator, operator_id)
    if operator is None or not operator.is_active:
        raise NotFound("operator", operator_id=operator_id)
    await session.execute(
        update(OperatorLinkToken).where(OperatorLinkToken.operator_id == operator_id,
                                        OperatorLinkToken.used_at.is_(None)).values(used_at=func.now())
    )
    token = new_token(18)
    session.add(OperatorLinkToken(digest=token_digest(token), operator_id=operator_id,
                                  expires_at=datetime.now(UTC) + ttl))
    await session.flush()
    return token


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={PREFIX}{token}"


async def link_operator(session: AsyncSession, token: str, telegram_user_id: int) -> Operator:
    """Use a token: the operator's account gets this Telegram id. Invalid, used or expired: InvalidInput."""
    row = await session.scalar(
        select(OperatorLinkToken).where(OperatorLinkToken.digest == token_digest(token)).with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= datetime.now(UTC):
        raise InvalidInput("link token is invalid, used or expired", field="token")
    taken = await session.scalar(select(Operator.id).where(Operator.telegram_user_id == telegram_user_id,
                                                           Operator.id != row.operator_id))
    if taken is not None:
        raise Conflict("this Telegram account is linked to another operator", field="telegram_user_id")
    operator = await session.get(Operator, row.operator_id, with_for_update=True)
    assert operator is not None
    operator.telegram_user_id = telegram_user_id
    row.used_at = func.now()
    await session.flush()
    audit.record(session, actor_kind="operator", actor_id=operator.id, action="operator.telegram_linked",
                 object_type="operator", object_id=operator.id)
    return operator
