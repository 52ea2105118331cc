"""aiogram runs every filter that is not a coroutine in a worker thread (`asyncio.to_thread`): a
thread hand-off, a loop wake-up and a GIL switch for each `F.text`, `~F.text.startswith("/")` or FSM
state checked. A plain text message passes about ten of them on its way through our routers, which
cost more CPU than the rest of the dispatch. Magic filters and states only compare attributes, so
they run inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.fsm.state import State


def run_pure_filters_inline(root: Router) -> None:
    """Make every magic filter and state filter under `root` (sub-routers included) run inline."""
    for router in root.chain_tail:
        for observer in router.observers.values():
            for handler in (observer._handler, *observer.handlers):  # _handler: the observer's own filters
                for item in handler.filters or ():
                    if _pure(item):
                        item.callback = _inline(item.callback)
                        item.awaitable = True


def _pure(item: FilterObject) -> bool:
    return not item.awaitable and (item.magic is not None or isinstance(item.callback, State))


def _inline(check: Callable[..., Any]) -> Callable[..., Any]:
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return inline
