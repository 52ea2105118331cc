"""Steps of the staff-group tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import TicketTopic
from tests.bot.flows import hand_off
from tests.botapi import TelegramServer, TgGroup, TgUser
from tests.staffgroup.conftest import Staff
from tests.waiting import eventually


async def link(telegram: TelegramServer, admin: TgUser, group: TgGroup, args: str = "") -> str:
    """The admin runs /link_staff_group in the group; returns the bot's answer."""
    mark = telegram.mark()
    await telegram.post(admin, group, f"/link_staff_group {args}".strip())
    answer = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == group.id, since=mark)
    await telegram.settled()  # committed
    return answer.text


async def topic_of(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> TicketTopic:
    """The ticket's topic once Telegram has made it."""
    found: list[TicketTopic] = []

    async def made() -> bool:
        async with sessions() as session:
            topic = await session.get(TicketTopic, ticket_id)
        found[:] = [topic] if topic is not None and topic.thread_id is not None else []
        return bool(found)

    await eventually(made, timeout=10)
    return found[0]


async def wait_in_topic(telegram: TelegramServer, group: TgGroup, thread_id: int, part: str,
                        timeout: float = 10.0) -> Any:
    return await telegram.wait_for_call(
        "sendMessage", lambda c: c.chat_id == group.id and c.params.get("message_thread_id") == thread_id
        and part in c.text, timeout=timeout)


async def topic_rows(sessions: async_sessionmaker[AsyncSession]) -> list[TicketTopic]:
    async with sessions() as session:
        return list((await session.scalars(select(TicketTopic))).all())


class TicketInTopic(NamedTuple):
    customer: TgUser
    ticket_id: int
    topic: TicketTopic


async def ticket_in_topic(telegram: TelegramServer, desk_bot: Callable[..., Awaitable[Any]],
                          sessions: async_sessionmaker[AsyncSession], staff: Staff,
                          **bot_settings: Any) -> TicketInTopic:
    """The common start: the bot runs, the staff group is linked, and Anna's /human opened a ticket whose
    topic Telegram has made."""
    await desk_bot(**bot_settings)
    await link(telegram, staff.admin_user, staff.group)
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    return TicketInTopic(anna, ticket_id, await topic_of(sessions, ticket_id))
