"""An order's source is a channel of the registry or the panel; anything else is refused."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.orders.errors import OrderInvalid
from core.orders.placing import place_order
from tests.integration.orders.conftest import Shop


@pytest.mark.parametrize("source", ["telegram", "web", "panel"])
async def test_known_sources_are_taken(sessions: async_sessionmaker[AsyncSession], shop: Shop,
                                       translator: Translator, source: str) -> None:
    async with sessions() as session, session.begin():
        order = await place_order(session, translator, shop.delivery_draft(source=source), shop.customer_actor)
        assert order.source == source


async def test_an_unknown_source_is_refused(sessions: async_sessionmaker[AsyncSession], shop: Shop,
                                            translator: Translator) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(OrderInvalid) as caught:
            await place_order(session, translator, shop.delivery_draft(source="fax"), shop.customer_actor)
    assert caught.value.errors == {"source": "unknown_source"}
