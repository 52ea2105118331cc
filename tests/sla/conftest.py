from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.channels import CHANNELS_KEY, ChannelRegistry
from core.i18n import Translator, load_translator
from core.models import Contact, Operator, Ticket
from core.services import conversations
from core.sla.clock import CLOCK_KEY
from tests import contacts
from tests.sla.clocks import ManualClock

# A Monday, 10:00 UTC.
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
# The end of a report window that holds every ticket (created_at is the database's time, not START).
EVER = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def clocked(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: ManualClock, channels: ChannelRegistry
) -> async_sessionmaker[AsyncSession]:
    """Sessions whose SLA hooks read the test's clock (rows are wiped by `sessions`)."""
    return async_sessionmaker(engine, expire_on_commit=False, info={CLOCK_KEY: clock, CHANNELS_KEY: channels})


@pytest.fixture(scope="session")
def translator() -> Translator:
    return load_translator()


async def make_contact(session: AsyncSession, telegram_user_id: int | None = 5001, **values: object) -> Contact:
    values.setdefault("name", "Ann")
    return await contacts.make_contact(session, telegram_user_id=telegram_user_id, **values)  # type: ignore[arg-type]


async def make_operator(session: AsyncSession, email: str = "op@example.com", **values: object) -> Operator:
    values.setdefault("role", "operator")
    operator = Operator(email=email, password_hash="x", display_name=email.split("@")[0], **values)
    session.add(operator)
    await session.flush()
    return operator


async def open_ticket(
    sessions: async_sessionmaker[AsyncSession], *, priority: str = "medium", queue: str = "technical",
    subject: str = "Site outage", channel: str = "telegram", telegram_user_id: int | None = 5001,
) -> int:
    async with sessions() as session, session.begin():
        contact = await make_contact(session, telegram_user_id, email=None if channel == "telegram" else "c@x.org")
        ticket, _ = await conversations.open_ticket(
            session, contact=contact, channel=channel, queue_slug=queue, subject=subject, priority=priority
        )
        return ticket.id


async def load(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> Ticket:
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket
