"""What each long-running part of this process is doing, and since when (`/healthz`, `/metrics`).

A component writes its state as a word (`ok`, `down`, `polling`, `standby`, ...); the board keeps when
that word last changed, how often the supervisor restarted the part, and the last error. Readers
decide from the words in `FAILING` whether the process is healthy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime

# States that mean "this part does not do its job". Anything else (ok, polling, webhook, standby,
# leader, off, ...) is a working state.
FAILING = frozenset({"down", "failed", "starting", "unauthorized", "login_failed", "held"})


@dataclass
class ComponentState:
    state: str
    since: float  # time.monotonic()
    since_wall: datetime
    restarts: int = 0
    error: str | None = None

    def seconds(self) -> float:
        return time.monotonic() - self.since


class Components(MutableMapping[str, str]):
    """A dict of component -> state word that remembers when each word was set."""

    def __init__(self) -> None:
        self._states: dict[str, ComponentState] = {}

    def __getitem__(self, name: str) -> str:
        return self._states[name].state

    def __setitem__(self, name: str, state: str) -> None:
        self.set(name, state)

    def __delitem__(self, name: str) -> None:
        del self._states[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)

    def set(self, name: str, state: str, error: str | None = None) -> None:
        current = self._states.get(name)
        if current is None:
            self._states[name] = ComponentState(state, time.monotonic(), datetime.now(UTC), error=error)
            return
        if current.state != state:
            current.state, current.since, current.since_wall = state, time.monotonic(), datetime.now(UTC)
        if error is not None or state not in FAILING:
            current.error = error

    def restarted(self, name: str, error: str) -> None:
        self.set(name, "down", error)
        self._states[name].restarts += 1

    def detail(self, name: str) -> ComponentState:
        return self._states[name]

    def failing(self, grace_seconds: float) -> list[str]:
        """Components in a failing state for longer than the grace period."""
        return sorted(name for name, s in self._states.items()
                      if s.state in FAILING and s.seconds() > grace_seconds)

    def details(self) -> dict[str, dict[str, object]]:
        return {
            name: {"state": s.state, "since": s.since_wall.isoformat(timespec="seconds"),
                   "seconds": round(s.seconds(), 1), "restarts": s.restarts, "error": s.error}
            for name, s in sorted(self._states.items())
        }
