"""Operator accounts administered from the panel: invite, disable, reset, profile, password links."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth import sessions as web_sessions
from core.auth import throttle, tokens
from core.auth.errors import LinkInvalid
from core.auth.permissions import require_admin
from core.domain import LANGUAGES, ROLES
from core.errors import InvalidInput, NotAllowed, NotFound
from core.models import AccountLink, Operator
from core.security import MIN_PASSWORD_LENGTH, hash_password, new_token, token_digest
from core.services import audit
from core.services.operators import create_operator
from core.zones import check_time_zone

LINK_LIFETIME = timedelta(hours=72)


async def _new_link(session: AsyncSession, operator: Operator, purpose: str, actor: Operator, now: datetime) -> str:
    await session.execute(
        update(AccountLink)
        .where(AccountLink.operator_id == operator.id, AccountLink.used_at.is_(None))
        .values(used_at=now)
    )
    plain = new_token()
    session.add(
        AccountLink(operator_id=operator.id, purpose=purpose, token_digest=token_digest(plain), created_by=actor.id,
                    created_at=now, expires_at=now + LINK_LIFETIME)
    )
    await session.flush()
    return plain


async def invite_operator(
    session: AsyncSession, actor: Operator, *, email: str, role: str, display_name: str | None, language: str,
    now: datetime,
) -> tuple[Operator, str]:
    """A new account with an unusable random password and a one-time link to choose one."""
    require_admin(actor)
    operator = await create_operator(session, email=email, password=new_token(), role=role,
                                     display_name=display_name, language=language, actor_id=actor.id)
    return operator, await _new_link(session, operator, "invite", actor, now)


async def get_operator(session: AsyncSession, operator_id: int) -> Operator:
    operator = await session.get(Operator, operator_id, with_for_update=True)
    if operator is None:
        raise NotFound("operator", operator_id=operator_id)
    return operator


async def reset_operator(session: AsyncSession, actor: Operator, operator_id: int, now: datetime) -> str:
    """Signs the operator out everywhere, lifts a login lock and returns a link to set a new password."""
    require_admin(actor)
    operator = await get_operator(session, operator_id)
    operator.password_hash = hash_password(new_token())
    await web_sessions.revoke_all(session, operator.id, now)
    await tokens.revoke_all_api_tokens(session, operator.id, now)  # a token is a way in, too
    await throttle.unlock(session, throttle.throttle_key(operator.email))
    audit.record(session, actor_kind="operator", actor_id=actor.id, action="operator.reset",
                 object_type="operator", object_id=operator.id)
    return await _new_link(session, operator, "reset", actor, now)


async def update_operator(
    session: AsyncSession, actor: Operator, operator_id: int, *, now: datetime, is_active: bool | None = None,
    role: str | None = None, display_name: str | None = None,
) -> Operator:
    require_admin(actor)
    operator = await get_operator(session, operator_id)
    if operator.id == actor.id and (is_active is False or (role is not None and role != "admin")):
        raise NotAllowed("an admin cannot disable or demote themselves")
    if role is not None:
        if role not in ROLES:
            raise InvalidInput("role", field="role")
        operator.role = role
    if display_name is not None:
        operator.display_name = _display_name(display_name)
    if is_active is not None and is_active != operator.is_active:
        operator.is_active = is_active
        if not is_active:
            await web_sessions.revoke_all(session, operator.id, now)
            await tokens.revoke_all_api_tokens(session, operator.id, now)
    audit.record(session, actor_kind="operator", actor_id=actor.id, action="operator.updated",
                 object_type="operator", object_id=operator.id, is_active=is_active, role=role)
    await session.flush()
    return operator


def _display_name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 128:
        raise InvalidInput("display name", field="display_name")
    return value


async def update_profile(
    session: AsyncSession, operator: Operator, *, language: str | None = None, display_name: str | None = None,
    time_zone: str | None = None,
) -> Operator:
    if language is not None:
        if language not in LANGUAGES:
            raise InvalidInput("language", field="language")
        operator.language = language
    if display_name is not None:
        operator.display_name = _display_name(display_name)
    if time_zone is not None:  # "": follow the browser's zone again
        operator.time_zone = check_time_zone(time_zone).key if time_zone else None
    await session.flush()
    return operator


async def use_account_link(session: AsyncSession, token: str, password: str, now: datetime) -> Operator:
    """Set the password from an invite or reset link; the link works once and signs out other sessions."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password too short", field="password", min_length=MIN_PASSWORD_LENGTH)
    link = await session.scalar(
        select(AccountLink).where(AccountLink.token_digest == token_digest(token)).with_for_update()
    )
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise LinkInvalid("link invalid")
    operator = await get_operator(session, link.operator_id)
    if not operator.is_active:
        raise LinkInvalid("account disabled")
    link.used_at = now
    operator.password_hash = hash_password(password)
    await web_sessions.revoke_all(session, operator.id, now)
    audit.record(session, actor_kind="operator", actor_id=operator.id, action=f"operator.{link.purpose}_used",
                 object_type="operator", object_id=operator.id)
    return operator


async def list_operators(session: AsyncSession) -> list[Operator]:
    return list(await session.scalars(select(Operator).order_by(Operator.display_name, Operator.id)))
