"""Invites are single-use and expire, members leave or are removed, the API token is a digest."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import InvalidInput, NotAllowed
from core.models import Store, StoreInvite
from core.orders import alerts, staff, stores
from core.orders.errors import InviteInvalid
from core.security import token_digest
from core.services.contacts import TelegramProfile
from tests.integration.orders.conftest import Shop

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
KATE = TelegramProfile(user_id=6001, first_name="Kate", language_code="ru-RU")
LEO = TelegramProfile(user_id=6002, first_name="Leo", language_code="de")


async def test_invite_is_single_use_and_stored_as_a_digest(
    sessions: async_sessionmaker[AsyncSession], shop: Shop
) -> None:
    async with sessions() as session, session.begin():
        token = await staff.create_invite(session, shop.store.id, now=NOW)
    assert len(staff.INVITE_PREFIX + token) <= 64
    async with sessions() as session, session.begin():
        stored = (await session.scalars(select(StoreInvite.token_digest))).all()
        assert token not in stored and token_digest(token) in stored
        store, kate = await staff.join_with_invite(session, token, KATE, now=NOW)
    assert (store.id, kate.name, kate.language) == (shop.store.id, "Kate", "ru")
    async with sessions() as session:
        with pytest.raises(InviteInvalid):
            await staff.join_with_invite(session, token, LEO, now=NOW)


async def test_expired_or_unknown_invite_is_refused(sessions: async_sessionmaker[AsyncSession], shop: Shop) -> None:
    async with sessions() as session, session.begin():
        token = await staff.create_invite(session, shop.store.id, now=NOW, ttl=timedelta(hours=1))
    async with sessions() as session:
        with pytest.raises(InviteInvalid):
            await staff.join_with_invite(session, token, KATE, now=NOW + timedelta(hours=1))
        with pytest.raises(InviteInvalid):
            await staff.join_with_invite(session, "forged-token", KATE, now=NOW)


async def test_an_existing_member_keeps_the_invite_unused(
    sessions: async_sessionmaker[AsyncSession], shop: Shop
) -> None:
    anna = TelegramProfile(user_id=shop.anna.telegram_user_id or 0, first_name="Anna")
    async with sessions() as session, session.begin():
        token = await staff.create_invite(session, shop.store.id, now=NOW)
        _, again = await staff.join_with_invite(session, token, anna, now=NOW)
    assert again.id == shop.anna.id
    async with sessions() as session, session.begin():
        _, leo = await staff.join_with_invite(session, token, LEO, now=NOW)
    assert leo.language == "en"


async def test_member_leaves_and_admin_removes_and_alerts_stop(
    sessions: async_sessionmaker[AsyncSession], shop: Shop
) -> None:
    async with sessions() as session, session.begin():
        await staff.leave_store(session, shop.store.id, shop.anna.telegram_user_id or 0)
        target = await alerts.alert_target(session, order_id=1, member_id=shop.anna.id)
        assert not target.member_present
        with pytest.raises(NotAllowed):
            await staff.remove_member(session, shop.boris.id, actor_role="operator", actor_id=1)
        await staff.remove_member(session, shop.boris.id, actor_role="admin", actor_id=None)
        assert (await staff.store_sheets(session, [shop.store]))[0].members == []


def test_deep_link_has_the_partner_payload() -> None:
    assert staff.deep_link("@DeskBot", "abc") == "https://t.me/DeskBot?start=partner_abc"


async def test_api_token_is_shown_once_and_rotates(sessions: async_sessionmaker[AsyncSession], shop: Shop) -> None:
    async with sessions() as session, session.begin():
        first = await stores.issue_api_token(session, shop.store.id)
        found = await stores.store_for_api_token(session, first)
        assert found is not None and found.id == shop.store.id
        second = await stores.issue_api_token(session, shop.store.id)
        assert await stores.store_for_api_token(session, first) is None
        assert await stores.store_for_api_token(session, second) is not None
        digest = await session.scalar(select(Store.api_token_digest).where(Store.id == shop.store.id))
        assert digest == token_digest(second)


async def test_reminder_settings_are_checked(sessions: async_sessionmaker[AsyncSession], shop: Shop) -> None:
    async with sessions() as session:
        store = await session.get(Store, shop.store.id)
        assert store is not None and (store.remind_after_minutes, store.escalate_after_minutes) == (5, 15)
        with pytest.raises(InvalidInput):
            await stores.set_reminders(session, shop.store.id, remind_after=10, escalate_after=10)
        updated = await stores.set_reminders(session, shop.store.id, remind_after=2, escalate_after=7)
        assert (updated.remind_after_minutes, updated.escalate_after_minutes) == (2, 7)


async def test_alert_memory_is_remembered_per_member(sessions: async_sessionmaker[AsyncSession], shop: Shop) -> None:
    from core.i18n import load_translator
    from tests.integration.orders.test_change_status import new_order

    order_id = await new_order(sessions, shop, load_translator())
    async with sessions() as session, session.begin():
        assert (await alerts.alert_target(session, order_id, shop.anna.id)).message_id is None
        await alerts.remember_alert(session, order_id, shop.anna.id, 5001, 77)
        await alerts.remember_alert(session, order_id, shop.anna.id, 5001, 78)
        target = await alerts.alert_target(session, order_id, shop.anna.id)
    assert target.member_present and target.message_id == 78


async def test_store_sheets_read_any_number_of_stores_in_three_statements(
    sessions: async_sessionmaker[AsyncSession], shop: Shop
) -> None:
    async with sessions() as session, session.begin():
        second = await stores.create_store(session, name="Sushi Go")
        await stores.add_product(session, store_id=second.id, name="Maki", price_minor=30000)
        await staff.create_invite(session, second.id)
        await staff.create_invite(session, second.id, now=NOW - timedelta(days=30))  # long expired
        empty = await stores.create_store(session, name="Empty Shelf")
    async with sessions() as session:
        rows = await stores.all_stores(session)
        statements: list[str] = []
        connection = await session.connection()
        event.listen(connection.sync_connection, "before_cursor_execute",
                     lambda _c, _cur, sql, *_rest: statements.append(sql))
        sheets = {sheet.store.id: sheet for sheet in await staff.store_sheets(session, rows)}
    assert len(statements) == 3
    assert [p.name for p in sheets[shop.store.id].products] == ["Margherita", "Cola"]
    assert [m.name for m in sheets[shop.store.id].members] == ["Anna", "Boris"]
    assert sheets[shop.store.id].open_invites == 0  # both were used to join
    assert ([p.name for p in sheets[second.id].products], sheets[second.id].members, sheets[second.id].open_invites) \
        == (["Maki"], [], 1)
    assert (sheets[empty.id].products, sheets[empty.id].members, sheets[empty.id].open_invites) == ([], [], 0)
