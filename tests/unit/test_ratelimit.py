"""Outgoing pace: 1/s per chat after a burst of 3, 30/s overall, on a controlled clock."""

from __future__ import annotations

from bot.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_chat_gets_a_short_burst_then_one_per_second() -> None:
    clock = Clock()
    limiter = RateLimiter(global_rate=30, chat_rate=1, chat_burst=3, clock=clock)
    slots = [limiter.reserve(42) - clock.now for _ in range(6)]
    assert slots == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


def test_many_chats_share_thirty_per_second() -> None:
    clock = Clock()
    limiter = RateLimiter(global_rate=30, chat_rate=1, global_burst=30, clock=clock)
    slots = [limiter.reserve(chat) - clock.now for chat in range(90)]
    assert slots[:30] == [0.0] * 30
    assert abs(slots[59] - 1.0) < 1e-9 and abs(slots[89] - 2.0) < 1e-9
    in_first_two_seconds = [s for s in slots if s < 2.0]
    assert len(in_first_two_seconds) <= 30 + 2 * 30


def test_the_bucket_refills_with_time() -> None:
    clock = Clock()
    limiter = RateLimiter(chat_rate=1, chat_burst=3, clock=clock)
    for _ in range(3):
        limiter.reserve(7)
    clock.now += 10
    assert limiter.reserve(7) == clock.now
