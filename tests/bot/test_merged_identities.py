"""A merged contact writes from more than one Telegram chat or address: each conversation stays on the
identity it came from, and "blocked the bot" is about that identity, not the person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.jobs.autoclose import AutoClose
from core.models import Contact, ContactIdentity, Operator, OutboxItem
from core.services import conversations, tickets
from core.services.contacts import contact_for_email, merge_contacts
from tests.bot.flows import hand_off, the_ticket
from tests.bot.test_operator_replies import delivery_state, reply
from tests.botapi import TelegramServer, TgUser
from tests.contacts import contact_of_telegram_user
from tests.sla.clocks import ManualClock


async def greeted(telegram: TelegramServer, user: TgUser) -> None:
    mark = telegram.mark()
    await telegram.send(user, "/start")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == user.id, since=mark)
    await telegram.settled()


async def contact_id_of(sessions: async_sessionmaker[AsyncSession], user: TgUser) -> int:
    async with sessions() as session:
        contact = await contact_of_telegram_user(session, user.id)
        assert contact is not None
        return contact.id


async def merge(sessions: async_sessionmaker[AsyncSession], operator: Operator, keep_id: int, other_id: int) -> None:
    async with sessions() as session, session.begin():
        actor = await session.get(Operator, operator.id)
        assert actor is not None
        await merge_contacts(session, keep_id, other_id, actor)


async def identity(sessions: async_sessionmaker[AsyncSession], channel: str, external_id: str) -> ContactIdentity:
    async with sessions() as session:
        found = await session.scalar(select(ContactIdentity).where(ContactIdentity.channel == channel,
                                                                   ContactIdentity.external_id == external_id))
        assert found is not None
        return found


async def test_a_handoff_opens_the_ticket_on_the_chat_the_merged_customer_writes_from(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession], operator: Operator,
) -> None:
    await desk_bot()
    phone, tablet = telegram.user("Anna"), telegram.user("Anna T")
    await greeted(telegram, phone)
    await greeted(telegram, tablet)
    keep_id = await contact_id_of(sessions, phone)
    await merge(sessions, operator, keep_id, await contact_id_of(sessions, tablet))
    ticket_id = await hand_off(telegram, tablet, "/human")
    ticket = await the_ticket(sessions, ticket_id)
    assert ticket.contact_id == keep_id
    assert ticket.identity_id == (await identity(sessions, "telegram", str(tablet.id))).id
    message_id = await reply(sessions, ticket_id, operator, "Answering on your tablet")
    sent = await telegram.wait_for_call("sendMessage", lambda c: "tablet" in c.text)
    assert sent.chat_id == tablet.id
    await delivery_state(sessions, message_id, "sent")
    assert not [c for c in telegram.sent_to(phone.id) if "tablet" in c.text]


async def test_a_merged_customer_blocked_on_telegram_still_gets_e_mail_notices(
    telegram: TelegramServer, desk_bot, sessions: async_sessionmaker[AsyncSession], operator: Operator,
) -> None:
    running = await desk_bot()
    anna = telegram.user("Anna")
    chat_ticket = await hand_off(telegram, anna, "/human")
    keep_id = await contact_id_of(sessions, anna)
    async with running.desk.sessions() as session, session.begin():
        mailer = await contact_for_email(session, "anna@example.com", "Anna")
        mail_ticket, _ = await conversations.open_ticket(session, contact=mailer, channel="email",
                                                         queue_slug="email", subject="Invoice")
        mailer_id, mail_ticket_id = mailer.id, mail_ticket.id
    await merge(sessions, operator, keep_id, mailer_id)

    telegram.fail("sendMessage", 403, times=None, match=lambda p: p.get("chat_id") == anna.id)
    failed = await delivery_state(sessions, await reply(sessions, chat_ticket, operator, "Are you there?"), "failed")
    assert "blocked" in str(failed.delivery_error)
    assert (await identity(sessions, "telegram", str(anna.id))).blocked
    assert not (await identity(sessions, "email", "anna@example.com")).blocked
    async with sessions() as session:
        contact = await session.get(Contact, keep_id)
        assert contact is not None and not contact.blocked  # the e-mail address still reaches her

    async with running.desk.sessions() as session, session.begin():
        await tickets.change_status(session, mail_ticket_id, "waiting_customer", actor_kind="system", actor_id=None)
    clock = ManualClock(datetime.now(UTC) + timedelta(days=6, hours=23))
    job = AutoClose(running.desk.sessions, running.desk.translator, after=timedelta(days=7),
                    notice_before=timedelta(hours=24), clock=clock)
    assert await job.run() == (1, 0)
    async with sessions() as session:
        notices = (await session.scalars(select(OutboxItem).where(OutboxItem.kind == "text",
                                                                  OutboxItem.channel == "email"))).all()
    assert [n.payload["to"] for n in notices] == ["anna@example.com"]
    assert f"#{mail_ticket_id}" in notices[0].payload["subject"]
