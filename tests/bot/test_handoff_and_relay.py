"""A miss hands off to a human; everything the customer sends then reaches the ticket."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from core.models import Attachment, Message, Ticket
from tests.bot.flows import hand_off, the_ticket, ticket_messages
from tests.botapi import TelegramServer

pytestmark = pytest.mark.usefixtures("kb")


async def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(("language", "question", "offer", "opened"), [
    ("en", "my parcel arrived broken and the box was wet", "pass your question to a human", "is open"),
    ("ru", "посылка пришла мокрая и разбитая", "Передать вопрос человеку", "открыта"),
])
async def test_a_miss_offers_a_human_and_hands_off(telegram: TelegramServer, desk_bot, sessions, language: str,
                                                   question: str, offer: str, opened: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    await telegram.send(anna, question)
    miss = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    assert offer in miss.text
    await telegram.press(anna, miss, miss.buttons[0]["callback_data"])
    topics = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and len(c.buttons) == 4)
    await telegram.press(anna, topics, topics.buttons[1]["callback_data"])  # billing
    done = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and opened in c.text)
    ticket_id = int(done.text.split("#")[1].split()[0].rstrip("."))
    await telegram.settled()
    ticket = await the_ticket(sessions, ticket_id)
    assert ticket.channel == "telegram" and ticket.subject == question
    messages = await ticket_messages(sessions, ticket_id)
    assert [(m.author_kind, m.body) for m in messages] == [("customer", question)]
    async with sessions() as session:
        queue_slug = await session.scalar(select(Ticket.queue_id).where(Ticket.id == ticket_id))
        assert queue_slug is not None


@pytest.mark.parametrize(("language", "phrase"), [("ru", "Хочу поговорить с человеком"), ("en", "/human")])
async def test_talk_to_a_human_intent_never_opens_a_second_ticket(telegram: TelegramServer, desk_bot, sessions,
                                                                  language: str, phrase: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    first = await hand_off(telegram, anna, phrase, language)
    mark = telegram.mark()
    await telegram.send(anna, phrase)  # inside a live ticket: relayed, not a second ticket
    await telegram.send(anna, "/human")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and f"#{first}" in c.text, since=mark)
    await telegram.settled()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_photo_album_document_and_edit_reach_the_ticket(telegram: TelegramServer, desk_bot, sessions,
                                                              tmp_path) -> None:
    running = await desk_bot()
    anna = telegram.user("Anna", language_code="en")
    ticket_id = await hand_off(telegram, anna, "operator")
    text = await telegram.send(anna, "the screen shows error 42")
    await telegram.send_photo(anna, b"\xff\xd8JPEG-bytes", caption="see the screen",
                              reply_to=text)
    await telegram.send_album(anna, [("photo", b"\xff\xd8one"), ("photo", b"\xff\xd8two")], caption="two angles")
    await telegram.send_document(anna, b"%PDF-1.4 invoice", "invoice.pdf", "application/pdf")
    await telegram.send_media(anna, "voice", b"OggS-voice")
    await telegram.send_media(anna, "sticker", b"sticker-bytes")
    await telegram.send(anna, location={"latitude": 55.75, "longitude": 37.61})
    await telegram.send(anna, contact={"phone_number": "+7900", "first_name": "Boris"})
    await telegram.edit(anna, text, "the screen shows error 43")

    async def relayed() -> bool:
        messages = await ticket_messages(sessions, ticket_id)
        return len(messages) >= 8 and any(m.edited_at for m in messages)

    await wait_for(relayed)
    messages = await ticket_messages(sessions, ticket_id)
    by_kind = {m.kind: m for m in messages}
    edited = next(m for m in messages if m.external_id == str(text["message_id"]))
    assert edited.body == "the screen shows error 43"
    assert edited.edit_history[0]["body"] == "the screen shows error 42"
    assert by_kind["photo"].body == "see the screen" and by_kind["photo"].reply_to_id == edited.id
    assert by_kind["album"].body == "two angles"
    assert by_kind["sticker"].body.startswith("[sticker")
    assert by_kind["location"].meta["latitude"] == 55.75
    assert "+7900" in by_kind["contact"].body
    async with sessions() as session:
        files = (await session.scalars(select(Attachment).order_by(Attachment.id))).all()
    stored = {f.file_name: f for f in files}
    assert await running.desk.storage.read(stored["invoice.pdf"].storage_key) == b"%PDF-1.4 invoice"
    album_files = [f for f in files if f.message_id == by_kind["album"].id]
    album = sorted([await running.desk.storage.read(f.storage_key or "") for f in album_files])
    assert album == [b"\xff\xd8one", b"\xff\xd8two"]
    assert stored["voice.ogg"].content_type == "audio/ogg"


async def test_a_file_over_20mb_is_recorded_with_a_note(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot()
    boris = telegram.user("Boris", language_code="ru")
    ticket_id = await hand_off(telegram, boris, "оператор", "ru")
    await telegram.send_document(boris, None, "video.zip", "application/zip", size=30 * 1024 * 1024)
    note = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == boris.id and "20 МБ" in c.text)
    assert "video.zip" in note.text
    await telegram.settled()
    async with sessions() as session:
        attachment = await session.scalar(select(Attachment))
        message = await session.get(Message, attachment.message_id)
    assert message.ticket_id == ticket_id
    assert attachment.storage_key is None and "20 MB" in attachment.problem
