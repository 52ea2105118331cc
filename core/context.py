"""The objects a process shares, built once by the composition root and handed to bot, web and jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.channels import ChannelRegistry
from core.health import Components
from core.i18n import Translator
from core.listener import EventStream, PgListener
from core.outbox import OutboxWorker
from core.scheduler import LeaderScheduler
from core.settings import Settings
from core.storage import AttachmentStore


@dataclass
class Desk:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    dsn: str
    translator: Translator
    storage: AttachmentStore
    listener: PgListener
    stream: EventStream
    scheduler: LeaderScheduler
    channels: ChannelRegistry
    outbox: OutboxWorker | None = None
    components: Components = field(default_factory=Components)
    metrics: dict[str, Any] = field(default_factory=dict)
