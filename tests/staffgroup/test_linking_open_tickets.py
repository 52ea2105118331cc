"""Linking a group while tickets are open: they get their topics there (most recent first, with a summary,
within the group's pace); unlinking stops the mirroring, and linking the same group again reuses its topics."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core.models import Operator, StaffGroup, TicketTopic
from core.services import tickets as ticket_service
from core.staffgroup import links
from tests.bot.flows import hand_off
from tests.botapi import TelegramServer, TgUser
from tests.staffgroup.conftest import Staff
from tests.staffgroup.flows import link, ticket_in_topic, topic_of, wait_in_topic
from tests.waiting import eventually
from web.sandbox.limits import RateLimits


async def _asks(telegram: TelegramServer, user: TgUser, text: str) -> int:
    ticket_id = await hand_off(telegram, user, "/human")
    await telegram.send(user, text)
    await telegram.settled()
    return ticket_id


async def test_tickets_open_before_linking_get_topics_most_recent_first_with_a_summary(
    telegram: TelegramServer, desk_bot, sessions, staff: Staff,
) -> None:
    await desk_bot()
    anna, boris, vera, gleb = (telegram.user(name) for name in ("Anna", "Boris", "Vera", "Gleb"))
    anna_id = await _asks(telegram, anna, "anna's printer jams")
    boris_id = await _asks(telegram, boris, "boris lost his password")
    vera_id = await _asks(telegram, vera, "vera wants a refund")
    gleb_id = await _asks(telegram, gleb, "gleb is done")
    async with sessions() as session, session.begin():
        await ticket_service.change_status(session, gleb_id, "closed", actor_kind="operator", actor_id=staff.admin.id)
    await telegram.send(boris, "boris again: still locked out")  # the most recent activity
    await telegram.settled()
    telegram.limits = RateLimits()  # Telegram's: 20 messages a minute into a group
    mark = telegram.mark()

    answer = await link(telegram, staff.admin_user, staff.group)

    assert "Linked" in answer and "3 (at most 200)" in answer
    expected = {boris_id: "boris again", vera_id: "vera wants a refund", anna_id: "anna's printer jams"}
    for ticket_id, said in expected.items():
        topic = await topic_of(sessions, ticket_id)
        await wait_in_topic(telegram, staff.group, topic.thread_id, f"Ticket #{ticket_id}", timeout=60)
        summary = await wait_in_topic(telegram, staff.group, topic.thread_id, "already open when the group was linked",
                                      timeout=60)
        assert said in summary.text
    made = telegram.calls_of("createForumTopic")
    assert [f"#{ticket_id}" in call.params["name"] for call, ticket_id in zip(made, expected, strict=True)] == [
        True, True, True]  # the most recent activity first; the closed ticket gets none
    async with sessions() as session:
        assert await session.get(TicketTopic, gleb_id) is None
    refused = [c for c in telegram.calls[mark:] if c.status == 429]
    assert len(refused) <= 1  # paced, never a 429 loop
    anna_topic = await topic_of(sessions, anna_id)
    await telegram.send(anna, "anything new?")  # the topic goes on from the summary, nothing twice
    later = await wait_in_topic(telegram, staff.group, anna_topic.thread_id, "anything new?", timeout=30)
    assert "printer jams" not in later.text
    assert len(telegram.calls_of("createForumTopic")) == 3


async def test_an_unlinked_group_gets_nothing_and_linking_it_again_reuses_its_topics(
    telegram: TelegramServer, desk_bot, sessions, staff: Staff,
) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    await wait_in_topic(telegram, staff.group, topic.thread_id, f"Ticket #{ticket_id}")
    async with sessions() as session, session.begin():
        admin = await session.get(Operator, staff.admin.id)
        group_id = await session.scalar(select(StaffGroup.id))
        await links.unlink_group(session, admin, group_id)

    mark = telegram.mark()
    await telegram.send(anna, "written while unlinked")
    await telegram.settled()
    await telegram.post(staff.operator_user, staff.group, "I answer here anyway", thread_id=topic.thread_id)
    told = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == staff.group.id, since=mark)
    assert "no longer linked" in told.text
    await asyncio.sleep(1)
    assert [c.text for c in telegram.sent_to(staff.group.id)[-1:]] == [told.text]  # nothing mirrored
    assert not [c for c in telegram.sent_to(anna.id) if "answer here anyway" in c.text]

    answer = await link(telegram, staff.admin_user, staff.group)
    assert "1 (at most 200)" in answer
    missed = await wait_in_topic(telegram, staff.group, topic.thread_id, "written while unlinked")
    assert missed.params["message_thread_id"] == topic.thread_id  # the same topic, not a second one
    assert len(telegram.calls_of("createForumTopic")) == 1


async def test_a_ticket_whose_group_was_unlinked_moves_to_the_group_linked_next(
    telegram: TelegramServer, desk_bot, sessions, staff: Staff,
) -> None:
    await desk_bot()
    await link(telegram, staff.admin_user, staff.group)
    anna = telegram.user("Anna")
    ticket_id = await _asks(telegram, anna, "the first question")
    old = await topic_of(sessions, ticket_id)
    await wait_in_topic(telegram, staff.group, old.thread_id, "the first question")
    async with sessions() as session, session.begin():
        admin = await session.get(Operator, staff.admin.id)
        await links.unlink_group(session, admin, await session.scalar(select(StaffGroup.id)))
    other = telegram.group("New staff")

    await link(telegram, staff.admin_user, other)

    async def moved() -> bool:
        async with sessions() as session:
            topic = await session.get(TicketTopic, ticket_id)
            return topic is not None and topic.chat_id == other.id and topic.thread_id is not None

    await telegram.wait_until(lambda: len(telegram.calls_of("createForumTopic")) == 2, timeout=10)
    await eventually(moved, timeout=10)
    new = await topic_of(sessions, ticket_id)
    summary = await wait_in_topic(telegram, other, new.thread_id, "already open when the group was linked")
    assert "the first question" in summary.text
