"""Runs the process's long-running parts and restarts any that fails (DESIGN: nothing stops silently).

A part is a coroutine function that runs until it is told to stop. If it raises, or returns while the
process is not stopping, the supervisor logs why, marks it `down` on the health board and starts it
again after a backoff (reset once a run has lasted a while). Each part stops through its own `stop()`;
`closing()` first tells the supervisor not to restart anything, then the parts are stopped, then
`stop()` cancels whatever is still running.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from core.health import Components

log = logging.getLogger(__name__)

Part = Callable[[], Awaitable[None]]


class Supervisor:
    def __init__(self, components: Components, *, min_backoff: float = 0.5, max_backoff: float = 30.0,
                 healthy_after: float = 60.0) -> None:
        self._components = components
        self._min = min_backoff
        self._max = max_backoff
        self._healthy_after = healthy_after
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False

    def start(self, name: str, part: Part, *, reports_state: bool = True) -> None:
        """Run `part` as component `name`. A part that reports its own state writes it to the health
        board under `name` (`ok` once it works); for one that does not, running counts as `ok`."""
        if name in self._tasks:
            raise ValueError(f"component {name} is already supervised")
        self._components.setdefault(name, "starting")
        self._tasks[name] = asyncio.create_task(self._keep(name, part, reports_state), name=f"desk:{name}")

    @property
    def closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """From now on a part that ends is not restarted (the process is stopping)."""
        self._closing = True

    async def wait(self, name: str, timeout: float) -> bool:
        """Wait for a part to end on its own after its stop(); False if it did not in time."""
        task = self._tasks.get(name)
        if task is None:
            return True
        done, _ = await asyncio.wait({task}, timeout=timeout)
        return bool(done)

    async def cancel(self, name: str) -> None:
        """Cancel one part now (one that did not end in time after its stop())."""
        task = self._tasks.get(name)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def stop(self) -> None:
        self._closing = True
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _keep(self, name: str, part: Part, reports_state: bool) -> None:
        backoff = self._min
        while not self._closing:
            started = time.monotonic()
            if not reports_state:
                self._components[name] = "ok"
            try:
                await part()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._closing:
                    log.warning("component failed while stopping", exc_info=True, extra={"component": name})
                    return
                error = f"{type(exc).__name__}: {exc}"
                log.exception("component failed; restarting it", extra={"component": name, "in_seconds": backoff})
            else:
                if self._closing:
                    return
                error = "ended unexpectedly"
                log.error("component ended unexpectedly; restarting it", extra={"component": name,
                                                                                "in_seconds": backoff})
            self._components.restarted(name, error)
            if time.monotonic() - started > self._healthy_after:
                backoff = self._min
            await asyncio.sleep(backoff + random.uniform(0, backoff / 4))
            backoff = min(backoff * 2, self._max)
