from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import ROLES
from core.errors import Conflict, InvalidInput
from core.i18n import N_
from core.models import Operator
from core.security import MIN_PASSWORD_LENGTH, hash_password
from core.services import audit


async def create_operator(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: str,
    display_name: str | None = None,
    language: str = "en",
    actor_id: int | None = None,
) -> Operator:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(N_("That is not an e-mail address."), field="email")
    if role not in ROLES:
        raise InvalidInput("role", field="role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(N_("The password must be at least {min_length} characters long."), field="password",
                           min_length=MIN_PASSWORD_LENGTH)
    if await session.scalar(select(Operator.id).where(func.lower(Operator.email) == email)):
        raise Conflict(N_("An account with this e-mail already exists."), field="email")
    operator = Operator(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name or email.split("@")[0],
        role=role,
        language=language,
    )
    session.add(operator)
    await session.flush()
    audit.record(
        session,
        actor_kind="operator" if actor_id else "system",
        actor_id=actor_id,
        action="operator.created",
        object_type="operator",
        object_id=operator.id,
        role=role,
    )
    return operator
