"""Operator accounts administered from the panel: invite, disable, reset, profile, password links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.auth import sessions as web_sessions
from core.auth import throttle, tokens
from core.auth.errors import LinkInvalid
from core.auth.permissions import require_admin
from core.domain import LANGUAGES, ROLES
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import N_
from core.models import AccountLink, Operator, Ticket
from core.security import MIN_PASSWORD_LENGTH, hash_password, new_token, token_digest
from core.services import audit
from core.services import tickets as ticket_service
from core.services.operators import create_operator
from core.zones import check_time_zone

LINK_LIFETIME = timedelta(hours=72)
LAST_ADMIN = N_("This is the last active admin: make another admin first, or nobody could sign in.")


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
    await sign_out_everywhere(session, operator, now)  # a token is a way in, too
    await throttle.unlock(session, throttle.throttle_key(operator.email))
    audit.record(session, actor_kind="operator", actor_id=actor.id, action="operator.reset",
                 object_type="operator", object_id=operator.id)
    return await _new_link(session, operator, "reset", actor, now)


@dataclass(frozen=True)
class Updated:
    operator: Operator
    returned: list[int]  # open tickets given back to their queue when it was disabled


async def update_operator(
    session: AsyncSession, actor: Operator, operator_id: int, *, now: datetime, is_active: bool | None = None,
    role: str | None = None, display_name: str | None = None,
) -> Updated:
    """The panel's edit of an account; disabling it does what `desk operator disable` does (signed out
    everywhere, open tickets back to their queues), and says which tickets went back."""
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
    returned: list[int] = []
    if is_active is not None and is_active != operator.is_active:
        if is_active:
            operator.is_active = True
        else:
            returned = (await disable_operator(session, operator, now=now, actor_id=actor.id)).returned
    audit.record(session, actor_kind="operator", actor_id=actor.id, action="operator.updated",
                 object_type="operator", object_id=operator.id, is_active=is_active, role=role,
                 **({"tickets_returned": returned} if is_active is False else {}))
    await session.flush()
    return Updated(operator, returned)


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


# --- From the shell (`desk admin ...`, `desk operator ...`): the person at the server's console is
# trusted as an admin (they hold DATABASE_URL); every change is audited as actor "system".

SIGNED_OUT = "operator.signed_out"  # every web process closes this operator's live sockets
SHELL_PASSWORD_BYTES = 15  # a printed password: 20 URL-safe characters


async def sign_out_everywhere(session: AsyncSession, operator: Operator, now: datetime) -> int:
    """Revoke every panel session and API token of the operator and tell every web process (through
    the event bus) to close their sockets; the sockets' reconnect then fails. Returns the sessions revoked."""
    count = await web_sessions.revoke_all(session, operator.id, now)
    await tokens.revoke_all_api_tokens(session, operator.id, now)
    events.publish(session, SIGNED_OUT, {"operator_id": operator.id}, audience="admin")
    return count


async def operator_by_email(session: AsyncSession, email: str) -> Operator:
    operator = await session.scalar(
        select(Operator).where(func.lower(Operator.email) == email.strip().lower()).with_for_update())
    if operator is None:
        raise NotFound("operator", email=email.strip())
    return operator


@dataclass(frozen=True)
class Disabled:
    operator: Operator
    sessions_revoked: int
    returned: list[int]  # open tickets given back to their queue (unassigned)
    kept: list[int]  # open tickets left assigned (--keep-tickets)


async def disable_from_shell(session: AsyncSession, email: str, *, now: datetime,
                             keep_tickets: bool = False) -> Disabled:
    """Disable an account at once: signed out everywhere, and their open tickets returned to their
    queues (unassigned, each audited and announced) unless `keep_tickets`; either way the caller is
    told which. The last active admin is never disabled (nobody could sign in to undo it)."""
    operator = await operator_by_email(session, email)
    if operator.role == "admin" and operator.is_active and await _active_admins(session) <= 1:
        raise NotAllowed(LAST_ADMIN)
    disabled = await disable_operator(session, operator, now=now, actor_id=None, keep_tickets=keep_tickets)
    audit.record(session, actor_kind="system", actor_id=None, action="operator.updated", object_type="operator",
                 object_id=operator.id, is_active=False, tickets_returned=disabled.returned)
    await session.flush()
    return disabled


async def disable_operator(session: AsyncSession, operator: Operator, *, now: datetime, actor_id: int | None,
                           keep_tickets: bool = False) -> Disabled:
    """The one way an account is disabled (shell and panel): signed out everywhere, and its open
    tickets returned to their queues (unassigned, each audited and announced, by `actor_id` or the
    system) unless `keep_tickets`. The caller audits the change itself."""
    operator.is_active = False
    count = await sign_out_everywhere(session, operator, now)
    open_ids = list(await session.scalars(
        select(Ticket.id).where(Ticket.assignee_id == operator.id, Ticket.status != "closed").order_by(Ticket.id)))
    if not keep_tickets:
        for ticket_id in open_ids:
            await ticket_service.assign(session, ticket_id, None, actor_kind="operator" if actor_id else "system",
                                        actor_id=actor_id)
    return Disabled(operator, count, [] if keep_tickets else open_ids, open_ids if keep_tickets else [])


async def enable_from_shell(session: AsyncSession, email: str) -> Operator:
    """Enable an account again and lift a login lock (a locked-out admin's way back in)."""
    operator = await operator_by_email(session, email)
    operator.is_active = True
    await throttle.unlock(session, throttle.throttle_key(operator.email))
    audit.record(session, actor_kind="system", actor_id=None, action="operator.updated", object_type="operator",
                 object_id=operator.id, is_active=True)
    await session.flush()
    return operator


async def set_password_from_shell(session: AsyncSession, email: str, password: str | None, *,
                                  now: datetime) -> tuple[Operator, str, int]:
    """A new password (random when None), argon2-hashed; signs the operator out everywhere, lifts a
    login lock and voids unused invite/reset links. Returns the operator, the password and the
    sessions revoked."""
    operator = await operator_by_email(session, email)
    password = new_token(SHELL_PASSWORD_BYTES) if password is None else password
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(N_("The password must be at least {min_length} characters long."), field="password",
                           min_length=MIN_PASSWORD_LENGTH)
    operator.password_hash = hash_password(password)
    count = await sign_out_everywhere(session, operator, now)
    await throttle.unlock(session, throttle.throttle_key(operator.email))
    await session.execute(update(AccountLink).where(AccountLink.operator_id == operator.id,
                                                    AccountLink.used_at.is_(None)).values(used_at=now))
    audit.record(session, actor_kind="system", actor_id=None, action="operator.password_set",
                 object_type="operator", object_id=operator.id)
    await session.flush()
    return operator, password, count


async def open_tickets_by_assignee(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(select(Ticket.assignee_id, func.count()).where(
        Ticket.assignee_id.is_not(None), Ticket.status != "closed").group_by(Ticket.assignee_id))
    return {assignee: count for assignee, count in rows.tuples() if assignee is not None}


async def _active_admins(session: AsyncSession) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(Operator).where(Operator.role == "admin", Operator.is_active)) or 0)
