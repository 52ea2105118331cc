"""Telegram's sending limits, as the sandbox enforces them: about 1 message/s per chat, 20/minute into a
group (negative chat ids) and 30/s overall,
short bursts allowed (Telegram tolerates a few quick messages to one chat). Over the limit a send
gets 429 with `retry_after`, exactly what the real Bot API answers, so a bot that copes here copes there.

GCRA (one "theoretical arrival time" per key), like the bot's own pacing, but checked instead of waited
for: a refused message books nothing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

OVERALL = "*"
# Bot API size limits (https://core.telegram.org/bots/api#sending-files, #sendmessage).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass
class RateLimits:
    per_chat: float = 1.0
    chat_burst: int = 3
    overall: float = 30.0
    overall_burst: int = 30
    per_group: float = 20 / 60  # Telegram: about 20 messages a minute into one group
    group_burst: int = 3
    clock: Callable[[], float] = time.monotonic
    _tat: dict[object, float] = field(default_factory=dict)

    def take(self, chat_id: int) -> int | None:
        """None: the message may go (and is counted); else the whole seconds to wait (retry_after)."""
        now = self.clock()
        waits = [self._wait(chat_id, now, 1.0 / self.per_chat, self.chat_burst),
                 self._wait(OVERALL, now, 1.0 / self.overall, self.overall_burst)]
        group = ("group", chat_id) if chat_id < 0 else None
        if group is not None:
            waits.append(self._wait(group, now, 1.0 / self.per_group, self.group_burst))
        longest = max(waits)
        if longest > 0:
            return max(1, math.ceil(longest))
        self._book(chat_id, now, 1.0 / self.per_chat)
        self._book(OVERALL, now, 1.0 / self.overall)
        if group is not None:
            self._book(group, now, 1.0 / self.per_group)
        return None

    def _wait(self, key: object, now: float, interval: float, burst: int) -> float:
        tat = max(self._tat.get(key, now), now)
        return tat - interval * (burst - 1) - now

    def _book(self, key: object, now: float, interval: float) -> None:
        self._tat[key] = max(self._tat.get(key, now), now) + interval
