"""One migrated database for one command: its sessions, and everything closed after."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.channels import ChannelRegistry
from core.db import create_engine, create_session_factory
from core.settings import Settings

DatabaseFactory = Callable[[Settings], contextlib.AbstractAsyncContextManager[Any]]


@contextlib.asynccontextmanager
async def sessions_of(settings: Settings, database: DatabaseFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from core.migrate import upgrade

    async with database(settings) as db:
        url = getattr(db, "direct_url", db.url)  # one-off commands go to the server itself, not a pooler
        await upgrade(url)
        engine = create_engine(url, pool_size=1)
        try:
            yield create_session_factory(engine, channels=_channels(settings))
        finally:
            await engine.dispose()


def _channels(settings: Settings) -> ChannelRegistry:
    from desk import build_channels  # the composition root lists the adapters; imported late (it imports cli)

    return build_channels(settings)
