"""Desk -> customer: operator replies leave through the outbox as Telegram messages."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from core.models import Message, OutboxItem
from core.services.conversations import NewAttachment, operator_replied
from tests.bot.flows import hand_off, ticket_messages
from tests.botapi import TelegramServer
from tests.contacts import contact_of_telegram_user


async def reply(sessions, ticket_id: int, operator, body: str, **kwargs) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        message = await operator_replied(session, ticket_id=ticket_id, operator=operator, body=body, **kwargs)
        return message.id


async def delivery_state(sessions, message_id: int, wanted: str, timeout: float = 5.0) -> Message:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with sessions() as session:
            message = await session.get(Message, message_id)
        if message.delivery_state == wanted:
            return message
        assert asyncio.get_running_loop().time() < deadline, f"still {message.delivery_state}"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_operator_reply_reaches_the_chat_as_a_reply_signed(telegram: TelegramServer, desk_bot, sessions,
                                                                 operator, language: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    ticket_id = await hand_off(telegram, anna, "/human", language)
    question = await telegram.send(anna, "where is my refund? <b>now</b>")
    await telegram.settled()
    stored = (await ticket_messages(sessions, ticket_id))[-1]
    message_id = await reply(sessions, ticket_id, operator, "It was sent today & arrives in 3 days.",
                             reply_to_id=stored.id)
    sent = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "arrives" in c.text)
    assert sent.reply_to == question["message_id"]
    assert "It was sent today &amp; arrives in 3 days." in sent.text and "Olga &lt;Support&gt;" in sent.text
    delivered = await delivery_state(sessions, message_id, "sent")
    assert delivered.external_id == str(sent.result["message_id"])


async def test_operator_files_go_as_photo_and_document(telegram: TelegramServer, desk_bot, sessions,
                                                       operator) -> None:
    running = await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    storage = running.desk.storage
    photo = await storage.save(b"\x89PNG-photo", "shot.png", "image/png")
    doc = await storage.save(b"%PDF-guide", "guide.pdf", "application/pdf")
    files = (NewAttachment("shot.png", "image/png", photo.size, photo.sha256, photo.storage_key),
             NewAttachment("guide.pdf", "application/pdf", doc.size, doc.sha256, doc.storage_key))
    message_id = await reply(sessions, ticket_id, operator, "Here are the files", attachments=files)
    sent_photo = await telegram.wait_for_call("sendPhoto", lambda c: c.chat_id == anna.id)
    sent_doc = await telegram.wait_for_call("sendDocument", lambda c: c.chat_id == anna.id)
    assert sent_photo.files["photo"].data == b"\x89PNG-photo"
    assert sent_doc.files["document"].filename == "guide.pdf"
    await delivery_state(sessions, message_id, "sent")


async def test_reply_reaches_customer_after_429(telegram: TelegramServer, desk_bot, sessions, operator) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    telegram.fail("sendMessage", 429, retry_after=1, match=lambda p: "patience" in str(p.get("text")))
    message_id = await reply(sessions, ticket_id, operator, "Thanks for your patience")
    refused = await telegram.wait_for_call("sendMessage", lambda c: c.status == 429, ok_only=False)
    sent = await telegram.wait_for_call("sendMessage", lambda c: "patience" in c.text)
    assert sent.at - refused.at >= 0.9  # retry_after honoured
    delivered = await delivery_state(sessions, message_id, "sent")
    assert delivered.external_id == str(sent.result["message_id"])
    async with sessions() as session:
        row = await session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))
        assert row.attempts == 2


async def test_reply_retries_after_5xx_and_timeout(telegram: TelegramServer, desk_bot, sessions, operator) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    telegram.fail("sendMessage", 502, match=lambda p: "later" in str(p.get("text")))
    message_id = await reply(sessions, ticket_id, operator, "See you later")
    await delivery_state(sessions, message_id, "sent")
    statuses = [c.status for c in telegram.calls_of("sendMessage", ok_only=False) if "later" in c.text]
    assert statuses == [502, 200]


async def test_blocked_customer_is_marked_and_not_retried(telegram: TelegramServer, desk_bot, sessions,
                                                          operator) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code="ru")
    ticket_id = await hand_off(telegram, anna, "/human", "ru")
    telegram.fail("sendMessage", 403, times=None, match=lambda p: p.get("chat_id") == anna.id)
    message_id = await reply(sessions, ticket_id, operator, "Are you there?")
    failed = await delivery_state(sessions, message_id, "failed")
    assert "blocked" in failed.delivery_error
    second = await reply(sessions, ticket_id, operator, "Hello?")
    await delivery_state(sessions, second, "failed")
    attempts = [c for c in telegram.calls_of("sendMessage", ok_only=False) if c.status == 403]
    assert len(attempts) == 1  # the second reply is not even tried
    async with sessions() as session:
        contact = await contact_of_telegram_user(session, anna.id)
        assert contact.blocked and contact.blocked_at is not None


async def test_customer_reply_to_an_operator_message_keeps_the_reference(telegram: TelegramServer, desk_bot,
                                                                         sessions, operator) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    message_id = await reply(sessions, ticket_id, operator, "Which model do you have?")
    sent = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "model" in c.text)
    await delivery_state(sessions, message_id, "sent")
    await telegram.send(anna, "the X200", reply_to=sent.result)
    await telegram.settled()
    answer = (await ticket_messages(sessions, ticket_id))[-1]
    assert answer.body == "the X200" and answer.reply_to_id == message_id


async def test_replies_to_one_chat_are_paced(telegram: TelegramServer, desk_bot, sessions, operator) -> None:
    await desk_bot(telegram_rate_per_chat=5)  # a burst of 3, then one every 0.2 s
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    for n in range(6):
        await reply(sessions, ticket_id, operator, f"part {n}")
    await telegram.wait_for_call("sendMessage", lambda c: "part 5" in c.text)
    times = [c.at for c in telegram.sent_to(anna.id) if "part" in c.text]
    assert len(times) == 6
    for i in range(6):  # no window holds more than the burst plus 5/s
        for j in range(i + 1, 6):
            assert j - i + 1 <= 3 + 5 * (times[j] - times[i]) + 0.25, (i, j, times)
    assert times[5] - times[0] >= 0.5


async def test_a_long_reply_is_split_and_only_the_first_part_is_a_reply(telegram: TelegramServer, desk_bot,
                                                                        sessions, operator) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    question = await telegram.send(anna, "tell me everything")
    await telegram.settled()
    stored = (await ticket_messages(sessions, ticket_id))[-1]
    body = "\n\n".join(f"Paragraph {n}: " + "details & more " * 60 for n in range(10))
    message_id = await reply(sessions, ticket_id, operator, body, reply_to_id=stored.id)
    delivered = await delivery_state(sessions, message_id, "sent")
    parts = [c for c in telegram.sent_to(anna.id) if "Paragraph" in c.text]
    assert len(parts) >= 3 and all(len(p.result["text"]) <= 4096 for p in parts)
    assert parts[0].reply_to == question["message_id"] and all(p.reply_to is None for p in parts[1:])
    assert parts[-1].text.endswith("— <i>Olga &lt;Support&gt;</i>")
    assert delivered.external_id == str(parts[0].result["message_id"])
