"""Contact identities: the 0013 data migration, race-free lookups, one live ticket per contact and
channel for any channel of `live_conversations`, replies at the ticket's identity, and merging."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.channels import ChannelRegistry, ChannelSpec, UnknownChannel
from core.db import asyncpg_dsn, create_session_factory
from core.errors import Conflict, NotFound
from core.migrate import downgrade, upgrade
from core.models import AuditLog, Contact, ContactIdentity, Event, Order, OutboxItem, Ticket, TicketRating
from core.orders import stores
from core.services import contacts, conversations
from core.services.deliveries import operator_typing
from core.services.operators import create_operator
from core.services.outgoing import load_outgoing_reply
from tests.contacts import make_contact
from tests.pg import PostgresForTests
from tests.waiting import eventually

CHAT = ChannelSpec("chat", "Website chat", live_conversations=True)


async def test_0013_moves_telegram_ids_and_emails_into_identities_and_keeps_everything_else(
    pg_server: PostgresForTests,
) -> None:
    url = pg_server.url_for(await pg_server.create_database())
    await upgrade(url, "0012")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        queue = await conn.fetchval("SELECT id FROM queue WHERE slug = 'general'")
        ann = await conn.fetchval("INSERT INTO contact (telegram_user_id, telegram_username, name) "
                                  "VALUES (501, 'ann', 'Ann') RETURNING id")
        bob = await conn.fetchval("INSERT INTO contact (email, name) VALUES ('Bob@Example.COM', 'Bob') RETURNING id")
        both = await conn.fetchval("INSERT INTO contact (telegram_user_id, email, name, language) "
                                   "VALUES (502, 'cy@example.com', 'Cy', 'ru') RETURNING id")
        nobody = await conn.fetchval("INSERT INTO contact (name) VALUES ('Walk-in') RETURNING id")

        async def ticket(contact: int, channel: str, status: str) -> int:
            return int(await conn.fetchval(
                "INSERT INTO ticket (contact_id, queue_id, channel, status, subject) VALUES ($1, $2, $3, $4, 's') "
                "RETURNING id", contact, queue, channel, status))

        tickets = {
            "ann_live": await ticket(ann, "telegram", "open"),
            "ann_closed": await ticket(ann, "telegram", "closed"),
            "bob_mail": await ticket(bob, "email", "in_progress"),
            "cy_mail": await ticket(both, "email", "open"),
            "cy_live": await ticket(both, "telegram", "waiting_customer"),
            "walk_in": await ticket(nobody, "email", "open"),
        }
        message = await conn.fetchval("INSERT INTO message (ticket_id, author_kind, body, external_key) "
                                      "VALUES ($1, 'customer', 'hello', 'tg:501:1') RETURNING id", tickets["ann_live"])
        await conn.execute("INSERT INTO attachment (message_id, file_name, content_type, size, telegram_file_id) "
                           "VALUES ($1, 'a.jpg', 'image/jpeg', 10, 'FILE')", message)
        before = {
            "message": await conn.fetch("SELECT * FROM message ORDER BY id"),
            "attachment": await conn.fetch("SELECT * FROM attachment ORDER BY id"),
            "contact": await conn.fetch("SELECT id, name, language, blocked FROM contact ORDER BY id"),
            "ticket": await conn.fetch("SELECT id, contact_id, channel, status, subject FROM ticket ORDER BY id"),
        }

        await upgrade(url, "0013")

        identities = {(r["contact_id"], r["channel"], r["external_id"], r["username"])
                      for r in await conn.fetch("SELECT * FROM contact_identity")}
        assert identities == {
            (ann, "telegram", "501", "ann"), (bob, "email", "bob@example.com", None),
            (both, "telegram", "502", None), (both, "email", "cy@example.com", None),
        }
        by_key = {(r["contact_id"], r["channel"]): r["id"] for r in await conn.fetch("SELECT * FROM contact_identity")}
        found = {r["id"]: r for r in await conn.fetch("SELECT id, identity_id, single_live FROM ticket")}
        assert found[tickets["ann_live"]]["identity_id"] == by_key[(ann, "telegram")]
        assert found[tickets["ann_closed"]]["identity_id"] == by_key[(ann, "telegram")]
        assert found[tickets["bob_mail"]]["identity_id"] == by_key[(bob, "email")]
        assert found[tickets["cy_mail"]]["identity_id"] == by_key[(both, "email")]
        assert found[tickets["cy_live"]]["identity_id"] == by_key[(both, "telegram")]
        assert found[tickets["walk_in"]]["identity_id"] is None
        assert {t for t, row in found.items() if row["single_live"]} == {
            tickets["ann_live"], tickets["ann_closed"], tickets["cy_live"]}
        assert await conn.fetch("SELECT * FROM message ORDER BY id") == before["message"]
        assert await conn.fetch("SELECT * FROM attachment ORDER BY id") == before["attachment"]
        assert await conn.fetch("SELECT id, name, language, blocked FROM contact ORDER BY id") == before["contact"]
        assert await conn.fetch(
            "SELECT id, contact_id, channel, status, subject FROM ticket ORDER BY id") == before["ticket"]
        with pytest.raises(asyncpg.UniqueViolationError):  # the live-ticket rule holds after the upgrade
            await conn.execute("INSERT INTO ticket (contact_id, queue_id, channel, subject, single_live) "
                               "VALUES ($1, $2, 'telegram', 's', true)", ann, queue)

        await downgrade(url, "0012")
        back = {r["id"]: (r["telegram_user_id"], r["telegram_username"], r["email"])
                for r in await conn.fetch("SELECT * FROM contact")}
        assert back == {ann: (501, "ann", None), bob: (None, None, "bob@example.com"),
                        both: (502, None, "cy@example.com"), nobody: (None, None, None)}
    finally:
        await conn.close()


def chat_sessions(engine: AsyncEngine, channels: ChannelRegistry) -> async_sessionmaker[AsyncSession]:
    """The built-in channels and a live website chat that is not Telegram."""
    return create_session_factory(engine, channels=ChannelRegistry([*channels, CHAT]))


async def wait_until_blocked(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Another transaction waits for a lock (the racing INSERT waits for the first one's commit)."""
    async def blocked() -> bool:
        async with sessions() as probe:
            return bool(await probe.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")))

    await eventually(blocked)


async def race(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[Any]]
) -> tuple[Any, Any]:
    """Two transactions run `work`: the second starts once the first has written (uncommitted, so the
    second cannot see it), and the first commits only once the second waits on it."""
    written = asyncio.Event()

    async def first() -> Any:
        async with sessions() as session, session.begin():
            result = await work(session)
            written.set()
            await wait_until_blocked(sessions)
            return result

    async def second() -> Any:
        await written.wait()
        async with sessions() as session, session.begin():
            return await work(session)

    return tuple(await asyncio.gather(first(), second()))  # type: ignore[return-value]


async def test_two_first_messages_at_once_make_one_contact_and_one_identity(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, channels: ChannelRegistry
) -> None:
    chat = chat_sessions(engine, channels)

    async def first_message(session: AsyncSession) -> int:
        return (await contacts.contact_for_identity(session, "chat", "visitor-1", name="Vera")).id

    one, two = await race(chat, first_message)
    assert one == two
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 1
        assert await session.scalar(select(func.count()).select_from(ContactIdentity)) == 1


async def test_a_known_identity_is_only_read_and_a_changed_name_is_written(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, channels: ChannelRegistry
) -> None:
    chat = chat_sessions(engine, channels)
    async with chat() as session, session.begin():
        first = await contacts.contact_for_identity(session, "chat", "v-2", name="Vera", language="ru")
    async with chat() as session, session.begin():
        again = await contacts.contact_for_identity(session, "chat", "v-2", name="Vera")
        assert (again.id, again.language) == (first.id, "ru")
        assert not session.dirty
        renamed = await contacts.contact_for_identity(session, "chat", "v-2", name="Vera K.", username="verak")
    async with sessions() as session:
        identity = await contacts.identity_of(session, renamed.id, "chat")
        contact = await session.get(Contact, renamed.id)
        assert identity is not None and (identity.display_name, identity.username) == ("Vera K.", "verak")
        assert contact is not None and contact.name == "Vera K."
    async with sessions() as session:
        with pytest.raises(UnknownChannel):  # a name no adapter of this process registered
            await contacts.contact_for_identity(session, "fax", "1", name="X")


async def test_one_live_ticket_per_contact_on_a_live_channel_that_is_not_telegram(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, channels: ChannelRegistry
) -> None:
    chat = chat_sessions(engine, channels)
    async with chat() as session, session.begin():
        contact = await contacts.contact_for_identity(session, "chat", "v-3", name="Vera")

    async def open_one(session: AsyncSession) -> tuple[int, bool]:
        found = await session.get(Contact, contact.id)
        assert found is not None
        ticket, created = await conversations.open_ticket(session, contact=found, channel="chat",
                                                          queue_slug="general", subject="help")
        return ticket.id, created

    (first, first_created), (second, second_created) = await race(chat, open_one)
    assert first == second and (first_created, second_created) == (True, False)
    async with sessions() as session:
        ticket = await session.get(Ticket, first)
        identity = await contacts.identity_of(session, contact.id, "chat")
        assert ticket is not None and identity is not None
        assert (ticket.single_live, ticket.identity_id) == (True, identity.id)
        # An e-mail channel has no live conversations: a second ticket is fine there.
        mail = await make_contact(session, email="vera@example.com")
        for _ in range(2):
            await conversations.open_ticket(session, contact=mail, channel="email", queue_slug="email", subject="x")
        assert await session.scalar(select(func.count()).where(Ticket.contact_id == mail.id)) == 2


async def staff_member(session: AsyncSession) -> Any:
    return await create_operator(session, email="olga@example.com", password="long-enough-pass", role="operator",
                                 display_name="Olga")


async def test_merge_moves_identities_tickets_orders_ratings_and_replies_keep_their_chat(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        olga = await staff_member(session)
        keep = await make_contact(session, telegram_user_id=701, name="Ann")
        other = await make_contact(session, telegram_user_id=702, email="ann@example.com", name="Ann B")
        kept_ticket, _ = await conversations.open_ticket(session, contact=keep, channel="telegram",
                                                         queue_slug="general", subject="first")
        await conversations.open_ticket(session, contact=keep, channel="email", queue_slug="email", subject="m")
        moved_ticket, _ = await conversations.open_ticket(session, contact=other, channel="email", queue_slug="email",
                                                          subject="invoice")
        closed, _ = await conversations.open_ticket(session, contact=other, channel="telegram", queue_slug="general",
                                                    subject="old")
        closed.status = "closed"
        session.add(TicketRating(ticket_id=closed.id, contact_id=other.id, score=5))
        store = await stores.create_store(session, name="Shop")
        session.add(Order(store_id=store.id, contact_id=other.id, kind="pickup", source="telegram"))
        keep_id, other_id, olga_id = keep.id, other.id, olga.id
    async with sessions() as session, session.begin():
        olga = await session.get(type(olga), olga_id)
        merged = await contacts.merge_contacts(session, keep_id, other_id, olga)
    assert {(i["channel"], i["external_id"]) for i in merged["identities"]} == {
        ("telegram", "701"), ("telegram", "702"), ("email", "ann@example.com")}
    async with sessions() as session, session.begin():
        assert await session.get(Contact, other_id) is None
        owners = set((await session.scalars(select(Ticket.contact_id))).all())
        assert owners == {keep_id}
        assert await session.scalar(select(Order.contact_id)) == keep_id
        assert await session.scalar(select(TicketRating.contact_id)) == keep_id
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "contact.merge"))
        assert audit is not None and (audit.actor_id, audit.object_id, audit.data["other_id"]) == (
            olga_id, keep_id, other_id)
        event = await session.scalar(select(Event).where(Event.type == "contact.merged"))
        assert event is not None and event.data["other_id"] == other_id
        # Each reply goes to the chat or address its ticket's conversation is on, also after the merge.
        olga = await session.get(type(olga), olga_id)
        reply = await conversations.operator_replied(session, ticket_id=kept_ticket.id, operator=olga, body="hi")
        moved = await conversations.operator_replied(session, ticket_id=moved_ticket.id, operator=olga, body="ok")
    async with sessions() as session:
        assert (await load_outgoing_reply(session, reply.id)).address == "701"
        assert (await load_outgoing_reply(session, moved.id)).address == "ann@example.com"


async def test_merge_is_refused_while_both_have_a_live_ticket_on_one_live_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        olga = await staff_member(session)
        keep = await make_contact(session, telegram_user_id=801, name="Ann")
        other = await make_contact(session, telegram_user_id=802, name="Ann B")
        for contact in (keep, other):
            await conversations.open_ticket(session, contact=contact, channel="telegram", queue_slug="general",
                                            subject="help")
        ids = keep.id, other.id
    async with sessions() as session, session.begin():
        with pytest.raises(Conflict) as caught:
            await contacts.merge_contacts(session, *ids, olga)
        assert caught.value.params["channel"] == "telegram"
        with pytest.raises(NotFound):
            await contacts.merge_contacts(session, ids[0], 10**12, olga)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 2


async def test_a_customer_on_any_channel_of_offline_alerts_alerts_operators_on_the_staff_channel(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, channels: ChannelRegistry
) -> None:
    chat = create_session_factory(engine, channels=ChannelRegistry(
        [*channels, ChannelSpec("chat", "Website chat", live_conversations=True, offline_alerts=True)]))
    async with chat() as session, session.begin():
        olga = await staff_member(session)
        olga.telegram_user_id, olga.language = 4242, "ru"
        contact = await contacts.contact_for_identity(session, "chat", "v-9", name="Vera")
        ticket, _ = await conversations.open_ticket(session, contact=contact, channel="chat", queue_slug="general",
                                                    subject="help")
        await conversations.customer_wrote(session, ticket, conversations.Inbound(body="<b>where</b> is it?"))
        mail = await make_contact(session, email="m@example.com", name="M")
        mail_ticket, _ = await conversations.open_ticket(session, contact=mail, channel="email", queue_slug="email",
                                                         subject="x")
        await conversations.customer_wrote(session, mail_ticket, conversations.Inbound(body="no alert for mail"))
    async with sessions() as session:
        alerts = (await session.scalars(select(OutboxItem).where(OutboxItem.kind == "text"))).all()
    assert [(a.channel, a.payload["chat_id"]) for a in alerts] == [("telegram", 4242)]
    assert alerts[0].payload["text"] == (f"🔔 Панель никто не открыл. Новое сообщение в заявке #{ticket.id} от Vera:\n"
                                         "&lt;b&gt;where&lt;/b&gt; is it?")


async def test_typing_on_a_channel_without_its_own_format_queues_the_neutral_address(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, channels: ChannelRegistry
) -> None:
    typing_chat = create_session_factory(engine, channels=ChannelRegistry(
        [*channels, ChannelSpec("chat", "Website chat", live_conversations=True, typing_indicator=True)]))
    async with typing_chat() as session, session.begin():
        contact = await contacts.contact_for_identity(session, "chat", "visitor-9", name="Vera")
        ticket, _ = await conversations.open_ticket(session, contact=contact, channel="chat", queue_slug="general",
                                                    subject="help")
        assert await operator_typing(session, ticket, now=1000.0)
        # Blocked there: no hint is queued for that identity any more.
        identity = await contacts.identity_of(session, contact.id, "chat")
        assert identity is not None
        await contacts.block_identity(session, identity.id)
        await session.refresh(identity)
        assert not await operator_typing(session, ticket, now=2000.0)
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxItem).where(OutboxItem.kind == "chat_action"))).all()
    assert [(r.channel, r.payload, r.order_key) for r in rows] == [
        ("chat", {"address": "visitor-9", "action": "typing"}, "typing:chat:visitor-9")]
