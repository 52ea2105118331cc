"""Time for the SLA code. Tests control it; production reads the system clock.

A session carries its clock in `session.info["clock"]` (set through the session factory's `info`),
so the conversation use cases need no extra argument; jobs get a clock directly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

CLOCK_KEY = "clock"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


SYSTEM_CLOCK: Clock = SystemClock()


def clock_of(session: AsyncSession) -> Clock:
    clock = session.info.get(CLOCK_KEY)
    return clock if clock is not None else SYSTEM_CLOCK
