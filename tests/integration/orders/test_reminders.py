"""Reminders and escalation with a controlled clock: each step once per order, only while pending."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.models import Event, Operator, Order, OutboxItem
from core.orders.reminders import run_reminders
from tests.integration.orders.conftest import Shop
from tests.integration.orders.test_change_status import OPERATOR, move, new_order

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def age_orders(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(Order).values(created_at=T0))


async def texts_to(sessions: async_sessionmaker[AsyncSession], chat_id: int | None) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxItem.payload).where(OutboxItem.kind == "text", OutboxItem.order_key == f"tg:{chat_id}")
            .order_by(OutboxItem.id))
        return [row["text"] for row in rows]


async def test_pending_order_reminds_staff_at_n_and_escalates_at_m_once(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    async with sessions() as session, session.begin():
        session.add(Operator(email="olga@example.com", password_hash="x", display_name="Olga", role="operator",
                             language="ru", telegram_user_id=4242))
        session.add(Operator(email="unlinked@example.com", password_hash="x", display_name="U", role="operator"))
    waiting = await new_order(sessions, shop, translator)
    accepted = await new_order(sessions, shop, translator)
    await move(sessions, translator, accepted, "preparing", OPERATOR)
    await age_orders(sessions)

    assert await run_reminders(sessions, translator, lambda: T0 + timedelta(minutes=4)) == (0, 0)
    first = await run_reminders(sessions, translator, lambda: T0 + timedelta(minutes=5))
    again = await run_reminders(sessions, translator, lambda: T0 + timedelta(minutes=6))
    assert (first.reminded, first.escalated, again.reminded, again.escalated) == (1, 0, 0, 0)
    assert await texts_to(sessions, shop.anna.telegram_user_id) == [
        f"Напоминание: заказ №{waiting} ждёт уже 5 мин."
    ]
    assert await texts_to(sessions, shop.boris.telegram_user_id) == [
        f"Reminder: order #{waiting} has been waiting for 5 min."
    ]
    assert await texts_to(sessions, 4242) == []

    escalated = await run_reminders(sessions, translator, lambda: T0 + timedelta(minutes=15))
    repeat = await run_reminders(sessions, translator, lambda: T0 + timedelta(minutes=30))
    assert (escalated.escalated, repeat.escalated) == (1, 0)
    assert await texts_to(sessions, 4242) == [f"Заказ №{waiting} в «Pizza Roma» не принят уже 15 мин."]
    async with sessions() as session:
        order = await session.get(Order, waiting)
        event = await session.scalar(select(Event).where(Event.type == "order.escalated"))
        board = (await session.scalars(
            select(Event.data).where(Event.type == "order.updated").order_by(Event.id.desc()))).first()
    assert order is not None and order.escalated_at == T0 + timedelta(minutes=15)
    assert event is not None and event.audience == "staff" and event.data["id"] == waiting
    assert board is not None and board["id"] == waiting and board["escalated"] is True


async def test_store_settings_change_the_delays(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    from core.orders import stores

    async with sessions() as session, session.begin():
        await stores.set_reminders(session, shop.store.id, remind_after=1, escalate_after=2)
    await new_order(sessions, shop, translator)
    await age_orders(sessions)
    run = await run_reminders(sessions, translator, lambda: T0 + timedelta(minutes=2))
    assert (run.reminded, run.escalated) == (1, 1)


async def test_an_order_accepted_before_n_is_never_reminded(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    order_id = await new_order(sessions, shop, translator)
    await move(sessions, translator, order_id, "rejected", OPERATOR, reason="closed")
    await age_orders(sessions)
    assert await run_reminders(sessions, translator, lambda: T0 + timedelta(hours=2)) == (0, 0)


def test_the_reminder_job_is_registered_for_the_scheduler_leader(database_url: str) -> None:
    from core.settings import load_settings
    from desk import build_desk, register_jobs

    desk = build_desk(load_settings(_env_file=None, database_url=database_url), database_url)
    register_jobs(desk)
    assert [(job.id, job.seconds) for job in desk.scheduler.jobs if job.id == "orders.reminders"] == [
        ("orders.reminders", 30.0)]


async def test_two_runs_at_once_remind_each_order_once(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    import asyncio

    for _ in range(3):
        await new_order(sessions, shop, translator)
    await age_orders(sessions)
    runs = await asyncio.gather(*(run_reminders(sessions, translator, lambda: T0 + timedelta(minutes=20))
                                  for _ in range(3)))
    assert sum(run.reminded for run in runs) == 3 and sum(run.escalated for run in runs) == 3
    assert len(await texts_to(sessions, shop.anna.telegram_user_id)) == 3
