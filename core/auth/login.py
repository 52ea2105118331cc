"""Password login. The outcome (including a counted failure) is the caller's to commit, so a failure
is recorded even though the login is refused."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth import throttle
from core.auth.errors import InvalidCredentials, LoginThrottled
from core.auth.throttle import ThrottlePolicy
from core.models import Operator
from core.security import hash_password, needs_rehash, verify_password

# Verified against when the e-mail is unknown, so both answers take the same time.
_DUMMY_HASH = hash_password("not-a-real-password-0")


@dataclass(frozen=True)
class LoginOutcome:
    operator: Operator | None
    error: InvalidCredentials | LoginThrottled | None = None


async def attempt_login(
    session: AsyncSession, email: str, password: str, *, now: datetime, policy: ThrottlePolicy
) -> LoginOutcome:
    key = throttle.throttle_key(email)
    try:
        await throttle.check(session, key, now, policy)
    except LoginThrottled as exc:
        return LoginOutcome(None, exc)
    operator = await session.scalar(select(Operator).where(func.lower(Operator.email) == key))
    stored = operator.password_hash if operator is not None else _DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, stored, password)
    if not ok or operator is None or not operator.is_active:
        wait = await throttle.record_failure(session, key, now, policy)
        if wait >= policy.lock_seconds:
            return LoginOutcome(None, LoginThrottled(wait, locked=True))
        return LoginOutcome(None, InvalidCredentials("invalid credentials"))
    await throttle.record_success(session, key)
    if needs_rehash(operator.password_hash):
        operator.password_hash = await asyncio.to_thread(hash_password, password)
    return LoginOutcome(operator)
