"""Steps a customer takes, shared by the conversation tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Message, Ticket
from tests.botapi import TelegramServer, TgUser

TOPIC_LABEL = {"en": "Technical support", "ru": "Техническая поддержка"}


async def hand_off(telegram: TelegramServer, user: TgUser, question: str, language: str = "en") -> int:
    """The customer asks for a human and picks the technical topic; returns the ticket number."""
    mark = telegram.mark()
    await telegram.send(user, question)
    topics = await telegram.wait_for_call(
        "sendMessage", lambda c: c.chat_id == user.id and any(b["callback_data"].startswith("t:") for b in c.buttons),
        since=mark)
    await telegram.press(user, topics, topics.button(TOPIC_LABEL[language])["callback_data"])
    opened = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == user.id and "#" in c.text,
                                          since=mark)
    await telegram.settled()
    return int(opened.text.split("#")[1].split()[0].rstrip(".:"))


async def ticket_messages(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> list[Message]:
    async with sessions() as session:
        return list((await session.scalars(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id))).all())


async def the_ticket(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> Ticket:
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket
