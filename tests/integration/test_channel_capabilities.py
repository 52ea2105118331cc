"""Core follows what a channel declares, with no change to core: a throwaway spec for `email` that
rates on close gets the rating request a Telegram ticket gets; a channel nobody registered is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.channels import ChannelRegistry, ChannelSpec, UnknownChannel
from core.db import create_session_factory
from core.models import OutboxItem, Ticket
from core.services.contacts import contact_for_email
from core.services.conversations import open_ticket
from core.services.deliveries import operator_typing
from core.services.tickets import change_status

CHATTY_MAIL = ChannelSpec(name="email", label="Chatty mail", rates_on_close=True)


async def _close_mail_ticket(sessions) -> list[tuple[str, str]]:
    async with sessions() as session, session.begin():
        contact = await contact_for_email(session, "ann@example.com", "Ann")
        ticket, _ = await open_ticket(session, contact=contact, channel="email", queue_slug="email", subject="s")
        await change_status(session, ticket.id, "closed", actor_kind="operator", actor_id=None)
        rows = (await session.execute(select(OutboxItem.channel, OutboxItem.kind))).all()
    return [(channel, kind) for channel, kind in rows]


async def test_closing_asks_for_a_rating_only_where_the_channel_rates_on_close(sessions, engine: AsyncEngine) -> None:
    assert await _close_mail_ticket(sessions) == []  # the built-in e-mail channel does not
    chatty = create_session_factory(engine, channels=ChannelRegistry([CHATTY_MAIL]))
    async with chatty() as session, session.begin():
        await session.execute(Ticket.__table__.delete())
    assert ("email", "ticket_closed") in await _close_mail_ticket(chatty)


async def test_no_typing_hint_on_email_and_an_unregistered_channel_is_refused(
    sessions, engine: AsyncEngine
) -> None:
    async with sessions() as session, session.begin():
        contact = await contact_for_email(session, "bob@example.com", "Bob")
        ticket, _ = await open_ticket(session, contact=contact, channel="email", queue_slug="email", subject="s")
        assert not await operator_typing(session, ticket, now=0)
    only_telegram = create_session_factory(engine, channels=ChannelRegistry([ChannelSpec("telegram", "Telegram")]))
    async with only_telegram() as session, session.begin():
        ticket = await session.get(Ticket, ticket.id)
        assert ticket is not None
        with pytest.raises(UnknownChannel):
            await operator_typing(session, ticket, now=0)
