"""Small async helpers for tests: run coroutines in the background, wait for a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def running(*coros: Coroutine[Any, Any, Any]) -> AsyncIterator[list[asyncio.Task[Any]]]:
    """Run the coroutines as tasks for the block; cancel whatever is still running at the end."""
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def eventually(
    predicate: Callable[[], bool | Awaitable[bool]], *, timeout: float = 5.0, interval: float = 0.02
) -> float:
    """Wait until the predicate holds; returns the seconds it took. Fails the test on timeout."""
    started = time.monotonic()
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
