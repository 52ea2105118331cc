from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.kb.transfer import import_articles, read_articles
from core.models import Operator
from core.services.operators import create_operator

SEED = Path(__file__).with_name("kb_seed.json")


@pytest.fixture
async def kb(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await import_articles(session, read_articles(SEED))


@pytest.fixture
async def operator(sessions: async_sessionmaker[AsyncSession]) -> Operator:
    async with sessions() as session, session.begin():
        return await create_operator(session, email="olga@example.com", password="long-enough-pass",
                                     role="operator", display_name="Olga <Support>")
