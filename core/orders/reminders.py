"""The reminder job: an order still pending after the store's N minutes reminds its staff; after
M minutes it is escalated to operators. Each step happens once per order: the step's column is
set in the same transaction that queues its messages, and the rows are claimed with SKIP LOCKED."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import events, outbox
from core.channels import staff_channel_of
from core.i18n import Translator
from core.models import Order, Store
from core.orders import notify, repo
from core.orders.render import alert_buttons, escalation_text, reminder_text

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
BATCH = 100


class ReminderRun(NamedTuple):
    reminded: int
    escalated: int


def utc_now() -> datetime:
    return datetime.now(UTC)


def _due(step_column, minutes_column, now: datetime):  # type: ignore[no-untyped-def]
    deadline = Order.created_at + func.make_interval(0, 0, 0, 0, 0, minutes_column)
    return (
        select(Order, Store)
        .join(Store, Store.id == Order.store_id)
        .where(Order.status == "pending", step_column.is_(None), deadline <= now)
        .order_by(Order.id)
        .limit(BATCH)
        .with_for_update(of=Order, skip_locked=True)
    )


async def run_reminders(
    sessions: async_sessionmaker[AsyncSession], translator: Translator, clock: Clock = utc_now
) -> ReminderRun:
    now = clock()
    async with sessions() as session, session.begin():
        reminded = 0
        for order, store in (await session.execute(_due(Order.reminded_at, Store.remind_after_minutes, now))).all():
            await _remind(session, translator, order, store.remind_after_minutes)
            order.reminded_at = now
            reminded += 1
        escalated = 0
        for order, store in (await session.execute(_due(Order.escalated_at, Store.escalate_after_minutes, now))).all():
            order.escalated_at = now
            await session.flush()
            await _escalate(session, translator, order, store)
            escalated += 1
    if reminded or escalated:
        log.info("order reminders", extra={"reminded": reminded, "escalated": escalated})
    return ReminderRun(reminded, escalated)


def reminder_job(
    sessions: async_sessionmaker[AsyncSession], translator: Translator, clock: Clock = utc_now
) -> Callable[[], Awaitable[None]]:
    """The scheduler's job (ids only, a fresh session per run)."""

    async def job() -> None:
        await run_reminders(sessions, translator, clock)

    return job


async def _remind(session: AsyncSession, translator: Translator, order: Order, minutes: int) -> None:
    channel = staff_channel_of(session)
    if channel is None:
        return
    for member in await repo.members_with_telegram(session, order.store_id):
        assert member.telegram_user_id is not None
        await outbox.enqueue(
            session,
            channel=channel,
            kind="text",
            payload={"chat_id": member.telegram_user_id,
                     "text": reminder_text(translator, member.language, order, minutes),
                     "buttons": alert_buttons(translator, member.language, order)},
            idempotency_key=f"order:{order.id}:remind:member:{member.id}",
            order_key=f"tg:{member.telegram_user_id}",
        )


async def _escalate(session: AsyncSession, translator: Translator, order: Order, store: Store) -> None:
    await notify.publish(session, order, "order.updated")
    events.publish(session, "order.escalated", {"id": order.id, "store_id": store.id, "store_name": store.name},
                   audience="staff", store_id=store.id)
    channel = staff_channel_of(session)
    if channel is None:
        return
    for operator in await repo.linked_operators(session):
        assert operator.telegram_user_id is not None
        await outbox.enqueue(
            session,
            channel=channel,
            kind="text",
            payload={"chat_id": operator.telegram_user_id,
                     "text": escalation_text(translator, operator.language, order, store.name,
                                             store.escalate_after_minutes),
                     "buttons": alert_buttons(translator, operator.language, order)},
            idempotency_key=f"order:{order.id}:escalate:operator:{operator.id}",
            order_key=f"tg:{operator.telegram_user_id}",
        )
