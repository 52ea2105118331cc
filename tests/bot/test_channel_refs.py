"""Telegram's ids of our messages and files live in `channel_refs`: a file Telegram has is sent again by
its file id (no upload), an operator's answer quotes the customer's Telegram message, albums keep
every Telegram message id."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Attachment, Message, Operator
from core.services.conversations import NewAttachment, operator_replied
from tests.bot.flows import hand_off, ticket_messages
from tests.botapi import TelegramServer


async def reply(sessions: async_sessionmaker[AsyncSession], ticket_id: int, operator: Operator, body: str,
                **kwargs: object) -> int:
    async with sessions() as session, session.begin():
        message = await operator_replied(session, ticket_id=ticket_id, operator=operator, body=body,
                                         **kwargs)  # type: ignore[arg-type]
        return message.id


async def delivered(sessions: async_sessionmaker[AsyncSession], message_id: int, timeout: float = 10.0) -> Message:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with sessions() as session:
            message = await session.get(Message, message_id)
        assert message is not None
        if message.delivery_state == "sent":
            return message
        assert asyncio.get_running_loop().time() < deadline, f"still {message.delivery_state}"
        await asyncio.sleep(0.05)


async def files_of(sessions: async_sessionmaker[AsyncSession], message_id: int) -> list[Attachment]:
    async with sessions() as session:
        return list((await session.scalars(select(Attachment).where(Attachment.message_id == message_id)
                                           .order_by(Attachment.id))).all())


async def test_a_file_telegram_has_is_sent_again_by_its_file_id(telegram: TelegramServer, desk_bot, sessions,
                                                                 operator) -> None:
    running = await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    storage = running.desk.storage
    photo = await storage.save(b"\x89PNG-cached", "shot.png", "image/png")
    doc = await storage.save(b"%PDF-cached", "guide.pdf", "application/pdf")
    files = (NewAttachment("shot.png", "image/png", photo.size, photo.sha256, photo.storage_key),
             NewAttachment("guide.pdf", "application/pdf", doc.size, doc.sha256, doc.storage_key))
    # The document fails once after the photo went out: the retry sends the whole reply again.
    telegram.fail("sendDocument", 500, match=lambda p: p.get("chat_id") == anna.id)
    message_id = await reply(sessions, ticket_id, operator, "Here are the files", attachments=files)
    await delivered(sessions, message_id)

    photos = [c for c in telegram.calls_of("sendPhoto") if c.chat_id == anna.id]
    documents = [c for c in telegram.calls_of("sendDocument", ok_only=False) if c.chat_id == anna.id]
    assert len(photos) == 2 and [c.status for c in documents] == [500, 200]
    first_upload, resent = photos
    assert first_upload.files["photo"].data == b"\x89PNG-cached"
    uploaded_id = first_upload.result["photo"][-1]["file_id"]
    assert resent.files == {} and resent.params["photo"] == uploaded_id  # by file id, no new upload
    assert documents[1].files["document"].data == b"%PDF-cached"
    shot, guide = await files_of(sessions, message_id)
    assert shot.channel_refs == {"telegram": uploaded_id}
    assert guide.channel_refs == {"telegram": documents[1].result["document"]["file_id"]}


async def test_a_file_id_telegram_refuses_is_replaced_by_an_upload(telegram: TelegramServer, desk_bot, sessions,
                                                                   operator) -> None:
    running = await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    stored = await running.desk.storage.save(b"%PDF-old-bot", "old.pdf", "application/pdf")
    # An id some other bot gave (the desk's token changed): Telegram does not know it.
    file = NewAttachment("old.pdf", "application/pdf", stored.size, stored.sha256, stored.storage_key,
                         channel_refs={"telegram": "another-bots-file-id"})
    message_id = await reply(sessions, ticket_id, operator, "The old guide", attachments=(file,))
    await delivered(sessions, message_id)
    calls = [c for c in telegram.calls_of("sendDocument", ok_only=False) if c.chat_id == anna.id]
    assert [c.status for c in calls] == [400, 200]
    assert calls[0].params["document"] == "another-bots-file-id" and calls[1].files["document"].data == b"%PDF-old-bot"
    (attachment,) = await files_of(sessions, message_id)
    assert attachment.channel_refs == {"telegram": calls[1].result["document"]["file_id"]}


async def test_an_answer_to_an_album_quotes_its_first_telegram_message(telegram: TelegramServer, desk_bot, sessions,
                                                                      operator) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    album = await telegram.send_album(anna, [("photo", b"\xff\xd8one"), ("photo", b"\xff\xd8two")],
                                      caption="both sides")
    await telegram.settled()
    stored = (await ticket_messages(sessions, ticket_id))[-1]
    assert stored.kind == "album"
    assert stored.channel_refs == {"telegram": [str(m["message_id"]) for m in album]}
    album_files = await files_of(sessions, stored.id)
    photo_ids = [m["photo"][-1]["file_id"] for m in album]
    assert sorted(f.channel_refs["telegram"] for f in album_files) == sorted(photo_ids)

    message_id = await reply(sessions, ticket_id, operator, "Thanks, I see the crack", reply_to_id=stored.id)
    sent = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "crack" in c.text)
    assert sent.params["reply_parameters"]["message_id"] == album[0]["message_id"]
    answer = await delivered(sessions, message_id)
    assert answer.channel_refs == {"telegram": [str(sent.result["message_id"])]}


async def test_every_part_of_a_long_reply_is_a_ref_and_the_customer_edits_by_key(
        telegram: TelegramServer, desk_bot, sessions, operator) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    body = "\n\n".join(f"Step {n}: " + "check the cable " * 60 for n in range(6))
    message_id = await reply(sessions, ticket_id, operator, body)
    answer = await delivered(sessions, message_id)
    parts = [c for c in telegram.sent_to(anna.id) if "Step" in c.text]
    assert len(parts) >= 2
    assert answer.channel_refs == {"telegram": [str(p.result["message_id"]) for p in parts]}

    question = await telegram.send(anna, "which cable?", reply_to=parts[0].result)
    await telegram.edit(anna, question, "which cable, the grey one?")

    async def edited() -> bool:
        last = (await ticket_messages(sessions, ticket_id))[-1]
        return last.edited_at is not None

    deadline = asyncio.get_running_loop().time() + 10
    while not await edited():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    last = (await ticket_messages(sessions, ticket_id))[-1]
    assert (last.body, last.reply_to_id) == ("which cable, the grey one?", message_id)
    assert last.channel_refs == {"telegram": [str(question["message_id"])]}
