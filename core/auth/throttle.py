"""Failed logins slow an account down, then lock it for a while. Keyed by the e-mail as typed, so
an attacker cannot probe one account from many addresses; unknown e-mails are throttled alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth.errors import LoginThrottled
from core.models import LoginThrottle


@dataclass(frozen=True)
class ThrottlePolicy:
    slow_after: int = 3
    lock_after: int = 10
    lock_seconds: float = 900.0
    base_delay: float = 1.0
    max_delay: float = 60.0
    forget_after: float = 3600.0

    def wait_after(self, failures: int) -> float:
        """Seconds an account must wait after its `failures`-th consecutive failure."""
        if failures >= self.lock_after:
            return self.lock_seconds
        if failures >= self.slow_after:
            return min(self.max_delay, self.base_delay * 2 ** (failures - self.slow_after))
        return 0.0


def throttle_key(email: str) -> str:
    return email.strip().lower()[:320]


async def check(session: AsyncSession, key: str, now: datetime, policy: ThrottlePolicy) -> None:
    """Raise LoginThrottled while the key must wait; the password is not even looked at."""
    row = await session.get(LoginThrottle, key)
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return
    retry_after = (row.blocked_until - now).total_seconds()
    raise LoginThrottled(round(retry_after, 1), locked=row.failures >= policy.lock_after)


async def record_failure(session: AsyncSession, key: str, now: datetime, policy: ThrottlePolicy) -> float:
    """Count one failure (race-free upsert); returns how long the key must now wait."""
    row = await session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        await session.execute(insert(LoginThrottle).values(key=key, failures=0).on_conflict_do_nothing())
        row = await session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        assert row is not None
    stale = row.last_failure_at is not None and (now - row.last_failure_at).total_seconds() > policy.forget_after
    row.failures = 1 if stale else row.failures + 1
    row.last_failure_at = now
    wait = policy.wait_after(row.failures)
    row.blocked_until = now + timedelta(seconds=wait) if wait else None
    await session.flush()
    return wait


async def record_success(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


async def unlock(session: AsyncSession, key: str) -> None:
    """An admin reset lifts a lock at once."""
    await record_success(session, key)
