"""Staff answer tickets from a forum supergroup, one topic per ticket, through the Bot API server."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from core.models import DeadLetter, Note, StaffGroup, Ticket
from core.services.conversations import add_note, operator_replied
from core.staffgroup import topics
from tests.bot.flows import hand_off, ticket_messages
from tests.botapi import TelegramServer
from tests.staffgroup.conftest import Staff
from tests.staffgroup.flows import link, ticket_in_topic, topic_of, topic_rows, wait_in_topic
from tests.waiting import eventually


@pytest.mark.parametrize(("language", "not_forum", "no_rights"), [
    ("en", "not a forum", "manage topics"),
    ("ru", "не форум", "управлять темами"),
])
async def test_linking_says_what_is_missing_in_plain_words(telegram: TelegramServer, desk_bot, sessions,
                                                           staff: Staff, language: str, not_forum: str,
                                                           no_rights: str) -> None:
    async with sessions() as session, session.begin():
        admin = await session.get(type(staff.admin), staff.admin.id)
        admin.language = language
    await desk_bot()
    plain = telegram.group("Plain group", forum=False, can_manage_topics=False)
    answer = await link(telegram, staff.admin_user, plain)
    assert not_forum in answer and no_rights in answer
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StaffGroup)) == 0
    answer = await link(telegram, staff.admin_user, staff.group)
    assert "Linked" in answer or "Группа подключена" in answer
    async with sessions() as session:
        group = await session.scalar(select(StaffGroup))
    assert group.chat_id == staff.group.id and group.queue_id is None and group.state == "ok"


async def test_only_a_linked_admin_may_link_the_group(telegram: TelegramServer, desk_bot, sessions,
                                                      staff: Staff) -> None:
    await desk_bot()
    stranger = telegram.user("Sam")
    assert "Only an admin" in await link(telegram, stranger, staff.group)
    assert "Only an admin" in await link(telegram, staff.operator_user, staff.group)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StaffGroup)) == 0


async def test_a_handoff_opens_one_topic_with_its_card(telegram: TelegramServer, desk_bot, sessions,
                                                       staff: Staff) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    made = telegram.calls_of("createForumTopic")
    assert len(made) == 1
    assert "Anna" in made[0].params["name"] and "Telegram" in made[0].params["name"]
    assert f"#{ticket_id}" in made[0].params["name"]
    card = await wait_in_topic(telegram, staff.group, topic.thread_id, f"Ticket #{ticket_id}")
    assert "Customer: Anna" in card.text and "Queue:" in card.text and "Priority:" in card.text
    assert "First response due" in card.text
    assert f"/tickets/{ticket_id}" in card.params["text"]
    assert {b["text"] for b in card.buttons} >= {"Assign to me", "Close", "urgent"}
    await telegram.send(anna, "my order never came")
    await wait_in_topic(telegram, staff.group, topic.thread_id, "my order never came")
    assert len(telegram.calls_of("createForumTopic")) == 1


async def test_a_staff_reply_in_the_topic_reaches_the_customer_signed(telegram: TelegramServer, desk_bot, sessions,
                                                                      staff: Staff) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    mark = telegram.mark()
    written = await telegram.post(staff.operator_user, staff.group, "Your parcel left today",
                                  thread_id=topic.thread_id)
    sent = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "parcel left" in c.text,
                                        since=mark)
    assert "Oleg" in sent.text
    await telegram.wait_until(lambda: (staff.group.id, written["message_id"]) in telegram.reactions, timeout=10)
    assert telegram.reactions[(staff.group.id, written["message_id"])] == [{"type": "emoji", "emoji": "👍"}]
    receipt = telegram.add_file(b"%PDF-1.4 receipt", "receipt.pdf")
    document = {"file_id": receipt.file_id, "file_unique_id": receipt.file_unique_id, "file_name": "receipt.pdf",
                "mime_type": "application/pdf", "file_size": receipt.size}
    with_file = await telegram.post(staff.operator_user, staff.group, caption="Here is the receipt",
                                    thread_id=topic.thread_id, document=document)
    got = await telegram.wait_for_call("sendDocument", lambda c: c.chat_id == anna.id, timeout=10)
    assert "Here is the receipt" in got.text and "Oleg" in got.text
    await telegram.wait_until(lambda: (staff.group.id, with_file["message_id"]) in telegram.reactions, timeout=10)
    replies = [m for m in await ticket_messages(sessions, ticket_id) if m.author_kind == "operator"]
    assert [(m.body, m.operator_id, m.delivery_state) for m in replies] == [
        ("Your parcel left today", staff.operator.id, "sent"), ("Here is the receipt", staff.operator.id, "sent")]
    await asyncio.sleep(0.3)
    echoed = [c for c in telegram.in_topic(staff.group, topic.thread_id) if "parcel left" in c.text]
    assert echoed == []  # written there: not posted back into the topic


@pytest.mark.parametrize("prefix", ["/note ", "!"])
async def test_a_note_in_the_topic_stays_internal(telegram: TelegramServer, desk_bot, sessions, staff: Staff,
                                                  prefix: str) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    await telegram.post(staff.operator_user, staff.group, f"{prefix}she called twice", thread_id=topic.thread_id)
    await telegram.settled()

    async def noted() -> bool:
        async with sessions() as session:
            return await session.scalar(select(func.count()).select_from(Note)) == 1

    await eventually(noted)
    async with sessions() as session:
        note = await session.scalar(select(Note))
    assert (note.ticket_id, note.body, note.operator_id) == (ticket_id, "she called twice", staff.operator.id)
    assert not [c for c in telegram.sent_to(anna.id) if "called twice" in c.text]
    assert not [m for m in await ticket_messages(sessions, ticket_id) if m.author_kind == "operator"]


async def test_panel_replies_and_notes_show_in_the_topic(telegram: TelegramServer, desk_bot, sessions,
                                                         staff: Staff) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    async with sessions() as session, session.begin():
        await operator_replied(session, ticket_id=ticket_id, operator=staff.admin, body="Checking <now>")
        await add_note(session, ticket_id=ticket_id, operator=staff.admin, body="VIP customer")
    reply = await wait_in_topic(telegram, staff.group, topic.thread_id, "Checking &lt;now&gt;")
    assert "Alla" in reply.text and "reply" in reply.text
    note = await wait_in_topic(telegram, staff.group, topic.thread_id, "VIP customer")
    assert "internal note" in note.text
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "Checking" in c.text)
    assert not [c for c in telegram.sent_to(anna.id) if "VIP" in c.text]


@pytest.mark.parametrize(("language", "hint"), [("en", "Staff group page"), ("ru", "Группа сотрудников")])
async def test_an_unlinked_members_reply_is_refused_with_a_hint(telegram: TelegramServer, desk_bot, sessions,
                                                                staff: Staff, language: str, hint: str) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    sam = telegram.user("Sam", language_code=language)
    mark = telegram.mark()
    await telegram.post(sam, staff.group, "I can answer this", thread_id=topic.thread_id)
    told = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == sam.id, since=mark)
    assert hint in told.text
    await telegram.settled()
    assert not [c for c in telegram.sent_to(anna.id) if "answer this" in c.text]
    assert not [m for m in await ticket_messages(sessions, ticket_id) if m.author_kind == "operator"]
    async with sessions() as session:  # a group member never becomes a customer
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_two_racing_first_messages_make_one_topic(telegram: TelegramServer, desk_bot, sessions,
                                                        staff: Staff) -> None:
    running = await desk_bot()
    await link(telegram, staff.admin_user, staff.group)
    anna = telegram.user("Anna")
    first = await hand_off(telegram, anna, "/human")
    await topic_of(sessions, first)
    async with sessions() as session, session.begin():  # a ticket no hook has seen yet
        ticket = await session.get(Ticket, first)
        race = Ticket(contact_id=ticket.contact_id, channel="telegram", queue_id=ticket.queue_id, subject="race",
                      single_live=False)
        session.add(race)
        await session.flush()
        race_id = race.id

    async def open_once() -> None:
        async with running.desk.sessions() as session, session.begin():
            ticket = await session.get(Ticket, race_id)
            await topics.ticket_opened(session, ticket)
            await asyncio.sleep(0.05)  # the transactions overlap

    mark = telegram.mark()
    await asyncio.gather(*(open_once() for _ in range(5)))
    await topic_of(sessions, race_id)
    await asyncio.sleep(0.5)
    assert len(await topic_rows(sessions)) == 2
    assert len([c for c in telegram.calls[mark:] if c.method == "createForumTopic"]) == 1


async def test_edits_files_and_the_priority_button_follow_the_ticket(telegram: TelegramServer, desk_bot, sessions,
                                                                     staff: Staff) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    card = await wait_in_topic(telegram, staff.group, topic.thread_id, f"Ticket #{ticket_id}")
    typo = await telegram.send(anna, "the screen is blak")
    await wait_in_topic(telegram, staff.group, topic.thread_id, "the screen is blak")
    await telegram.edit(anna, typo, "the screen is black")
    edited = await wait_in_topic(telegram, staff.group, topic.thread_id, "the screen is black")
    assert "edited" in edited.text
    document = await telegram.send_document(anna, b"%PDF-1.4 invoice", "invoice.pdf", "application/pdf")
    photo = await telegram.send_photo(anna, b"\xff\xd8JPEG-bytes", caption="the screen")
    await wait_in_topic(telegram, staff.group, topic.thread_id, "invoice.pdf")
    in_topic = (lambda c: c.chat_id == staff.group.id  # noqa: E731
                and c.params.get("message_thread_id") == topic.thread_id)
    sent_document = await telegram.wait_for_call("sendDocument", in_topic, timeout=10)
    assert sent_document.params["document"] == document["document"]["file_id"]  # Telegram's id: no upload
    sent_photo = await telegram.wait_for_call("sendPhoto", in_topic, timeout=10)
    assert sent_photo.params["photo"] == photo["photo"][-1]["file_id"]
    await wait_in_topic(telegram, staff.group, topic.thread_id, "the screen")
    await telegram.press(staff.operator_user, card, card.button("urgent")["callback_data"])
    await telegram.settled()

    async def urgent() -> bool:
        async with sessions() as session:
            return (await session.get(Ticket, ticket_id)).priority == "urgent"

    await eventually(urgent)
    edited = await telegram.wait_for_call("editMessageText", lambda c: c.params["message_id"] == card.result[
        "message_id"] and "Priority: urgent" in c.text, timeout=10)
    assert edited.buttons == card.buttons
    stranger = telegram.user("Sam")
    mark = telegram.mark()
    await telegram.press(stranger, card, card.button("Close")["callback_data"])
    refused = await telegram.wait_for_call("answerCallbackQuery", since=mark)
    assert refused.params.get("show_alert") and "Staff group page" in refused.params["text"]
    async with sessions() as session:
        assert (await session.get(Ticket, ticket_id)).status != "closed"


async def test_other_group_messages_and_commands_are_left_alone(telegram: TelegramServer, desk_bot, sessions,
                                                               staff: Staff) -> None:
    await desk_bot()
    await link(telegram, staff.admin_user, staff.group)
    mark = telegram.mark()
    for text in ("/help", "/start", "/human", "/close", "/whatever", "good morning all"):
        await telegram.post(staff.operator_user, staff.group, text)
    await telegram.settled()
    assert [c for c in telegram.calls[mark:] if c.method.startswith("send")] == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert await session.scalar(select(func.count()).select_from(DeadLetter)) == 0


async def test_a_queue_with_a_group_of_its_own_gets_its_topics_there(telegram: TelegramServer, desk_bot, sessions,
                                                                    staff: Staff) -> None:
    await desk_bot()
    await link(telegram, staff.admin_user, staff.group)
    tech = telegram.group("Tech staff")
    assert "technical" in (await link(telegram, staff.admin_user, tech, "technical")).lower()
    assert "no queue" in (await link(telegram, staff.admin_user, tech, "nonsense")).lower()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")  # the technical topic
    topic = await topic_of(sessions, ticket_id)
    assert topic.chat_id == tech.id
    await wait_in_topic(telegram, tech, topic.thread_id, f"Ticket #{ticket_id}")
    assert [c.chat_id for c in telegram.calls_of("createForumTopic")] == [tech.id]


async def test_a_ticket_opened_while_the_bot_was_out_gets_its_topic_once_linked_again(
    telegram: TelegramServer, desk_bot, sessions, staff: Staff,
) -> None:
    await desk_bot()
    await link(telegram, staff.admin_user, staff.group)
    staff.group.bot_status = "kicked"
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    await telegram.send(anna, "hello?")

    async def marked() -> bool:
        async with sessions() as session:
            return (await session.scalar(select(StaffGroup.state))) == "removed"

    await eventually(marked, timeout=10)
    staff.group.bot_status = "administrator"  # added back
    await link(telegram, staff.admin_user, staff.group)
    topic = await topic_of(sessions, ticket_id)
    await wait_in_topic(telegram, staff.group, topic.thread_id, f"Ticket #{ticket_id}")
    await wait_in_topic(telegram, staff.group, topic.thread_id, "hello?")
