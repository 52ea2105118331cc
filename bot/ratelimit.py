"""Outgoing pace within Telegram's limits: about 30 messages/s overall, 1/s per chat and 20/minute into a
group, short bursts allowed.

GCRA (a token bucket kept as one timestamp per key): a reservation is computed without awaiting,
so concurrent senders never take the same slot; then the caller sleeps until its slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

GLOBAL = "*"


@dataclass
class RateLimiter:
    global_rate: float = 30.0
    chat_rate: float = 1.0
    global_burst: int = 30
    chat_burst: int = 3
    group_rate: float = 20 / 60  # a group (negative chat id): about 20 messages a minute
    group_burst: int = 2  # one less than Telegram allows: our clock and theirs differ by the network
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _tat: dict[object, float] = field(default_factory=dict)

    def reserve(self, chat_id: int | str) -> float:
        """The moment (on `clock`) when one more message to `chat_id` may leave; books that slot."""
        now = self.clock()
        at = self._book(chat_id, now, 1.0 / self.chat_rate, self.chat_burst)
        if isinstance(chat_id, int) and chat_id < 0:
            at = self._book(("group", chat_id), at, 1.0 / self.group_rate, self.group_burst)
        return self._book(GLOBAL, at, 1.0 / self.global_rate, self.global_burst)

    async def wait(self, chat_id: int | str) -> None:
        delay = self.reserve(chat_id) - self.clock()
        if delay > 0:
            await self.sleep(delay)

    def _book(self, key: object, not_before: float, interval: float, burst: int) -> float:
        tat = max(self._tat.get(key, not_before), not_before)
        allowed_at = max(not_before, tat - interval * (burst - 1))
        self._tat[key] = max(tat, allowed_at) + interval
        if len(self._tat) > 10_000:
            self._forget(not_before)
        return allowed_at

    def _forget(self, now: float) -> None:
        for key in [k for k, tat in self._tat.items() if tat < now and k != GLOBAL]:
            del self._tat[key]
