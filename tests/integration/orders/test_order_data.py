"""The database itself refuses what the code would never write."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.orders.conftest import Shop


async def insert_order(session: AsyncSession, store_id: int, status: str, kind: str = "delivery") -> None:
    await session.execute(
        text("INSERT INTO orders (store_id, kind, status, source) VALUES (:store, :kind, :status, 'telegram')"),
        {"store": store_id, "kind": kind, "status": status},
    )


async def test_check_constraint_refuses_an_unknown_status_written_in_sql(
    sessions: async_sessionmaker[AsyncSession], shop: Shop
) -> None:
    async with sessions() as session:
        with pytest.raises(IntegrityError) as caught:
            await insert_order(session, shop.store.id, "shipped")
        assert "ck_orders_status" in str(caught.value)


async def test_check_constraint_refuses_an_unknown_status_in_an_update(
    sessions: async_sessionmaker[AsyncSession], shop: Shop
) -> None:
    async with sessions() as session, session.begin():
        await insert_order(session, shop.store.id, "pending")
    async with sessions() as session:
        with pytest.raises(IntegrityError):
            await session.execute(text("UPDATE orders SET status = 'lost'"))


async def test_check_constraint_refuses_an_unknown_kind(sessions: async_sessionmaker[AsyncSession], shop: Shop) -> None:
    async with sessions() as session:
        with pytest.raises(IntegrityError) as caught:
            await insert_order(session, shop.store.id, "pending", kind="catering")
        assert "ck_orders_kind" in str(caught.value)


async def test_every_known_status_is_accepted(sessions: async_sessionmaker[AsyncSession], shop: Shop) -> None:
    from core.orders.statuses import ORDER_STATUSES

    async with sessions() as session, session.begin():
        for status in ORDER_STATUSES:
            await insert_order(session, shop.store.id, status)
        count = await session.scalar(text("SELECT count(*) FROM orders"))
    assert count == len(ORDER_STATUSES)


async def test_status_and_created_at_are_indexed_together(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        definition = await session.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_status_created_at'")
        )
    assert definition is not None and "(status, created_at)" in definition
