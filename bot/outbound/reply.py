"""`reply`: the stored operator message, signed with the operator's name, as a Telegram reply when it
answers a customer message; files as photos or documents."""

from __future__ import annotations

from typing import Any

from aiogram.types import BufferedInputFile, Message, ReplyParameters

from bot.channel import Sender
from bot.render import CAPTION_LIMIT, TEXT_LIMIT, esc, signed, split_plain
from core.errors import NotFound
from core.outbox import Delivery, PermanentFailure, RecipientGone
from core.services.outgoing import OutgoingFile, OutgoingReply, load_outgoing_reply

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
PHOTO_MAX = 10 * 1024 * 1024


async def send_reply(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    reply = await _load(sender, int(delivery.payload["message_id"]))
    if reply.telegram_chat_id is None:
        raise PermanentFailure("the customer has no Telegram chat")
    if reply.recipient_blocked:
        raise RecipientGone("the customer blocked the bot")
    chat_id = reply.telegram_chat_id
    reply_to = (
        ReplyParameters(message_id=int(reply.reply_to_external_id), allow_sending_without_reply=True)
        if reply.reply_to_external_id and reply.reply_to_external_id.isdigit() else None
    )
    files = [f for f in reply.files if f.storage_key]
    sent: list[Message] = []
    text = signed(reply.body, reply.author_name)
    if len(files) == 1 and len(text) <= CAPTION_LIMIT:
        sent.append(await _send_file(sender, chat_id, files[0], text, reply_to))
    else:
        for chunk in _chunks(reply):
            await sender.paced(chat_id)
            sent.append(await sender.bot.send_message(chat_id, chunk, reply_parameters=reply_to if not sent else None))
        for item in files:
            sent.append(await _send_file(sender, chat_id, item, None, reply_to if not sent else None))
    first = sent[0]
    return {"external_id": first.message_id, "external_key": f"tg:{chat_id}:{first.message_id}",
            "parts": [m.message_id for m in sent]}


async def _load(sender: Sender, message_id: int) -> OutgoingReply:
    async with sender.desk.sessions() as session:
        try:
            return await load_outgoing_reply(session, message_id)
        except NotFound as exc:
            raise PermanentFailure(f"message {message_id} no longer exists") from exc


def _chunks(reply: OutgoingReply) -> list[str]:
    signature = signed("", reply.author_name)
    parts = split_plain(esc(reply.body), TEXT_LIMIT - len(signature) - 2) if reply.body else []
    if not parts:
        return [signature]
    parts[-1] = f"{parts[-1]}\n\n{signature}" if reply.author_name else parts[-1]
    return parts


async def _send_file(sender: Sender, chat_id: int, item: OutgoingFile, caption: str | None,
                     reply_to: ReplyParameters | None) -> Message:
    assert item.storage_key is not None
    data = sender.desk.storage.read(item.storage_key)
    upload = BufferedInputFile(data, filename=item.file_name)
    await sender.paced(chat_id)
    if item.content_type in PHOTO_TYPES and item.size <= PHOTO_MAX:
        return await sender.bot.send_photo(chat_id, upload, caption=caption, reply_parameters=reply_to)
    return await sender.bot.send_document(chat_id, upload, caption=caption, reply_parameters=reply_to)
