"""The panel's tunables, built once from settings (tests pass their own clock and timings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.auth.sessions import SessionPolicy
from core.auth.throttle import ThrottlePolicy
from core.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PanelConfig:
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    clock: Callable[[], datetime] = utc_now
    ws_heartbeat: float = 20.0
    ws_queue_limit: int = 10_000
    max_files_per_message: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> PanelConfig:
        return cls(
            sessions=SessionPolicy(idle=timedelta(hours=settings.web_session_idle_hours),
                                   absolute=timedelta(days=settings.web_session_max_days)),
            throttle=ThrottlePolicy(slow_after=settings.login_slow_after, lock_after=settings.login_lock_after,
                                    lock_seconds=settings.login_lock_minutes * 60),
        )
