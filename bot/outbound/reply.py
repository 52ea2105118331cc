"""`reply`: the stored operator message, signed with the operator's name, as a Telegram reply when it
answers a customer message; files as photos or documents. A file Telegram already has (its file id in
the attachment's `channel_refs`) goes by that id, not uploaded again; after an upload the id Telegram
gave is recorded, so a retry or a later send of the same attachment reuses it."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, Message, ReplyParameters

from bot.channel import CHANNEL_NAME, Sender
from bot.render import CAPTION_LIMIT, TEXT_LIMIT, esc, signed, split_plain
from core.errors import NotFound
from core.outbox import Delivery, PermanentFailure, RecipientGone
from core.services.channel_refs import remember_file_ref
from core.services.outgoing import OutgoingFile, OutgoingReply, load_outgoing_reply

log = logging.getLogger(__name__)

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
PHOTO_MAX = 10 * 1024 * 1024


async def send_reply(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    reply = await _load(sender, int(delivery.payload["message_id"]))
    if reply.address is None:
        raise PermanentFailure("the customer has no Telegram chat")
    if reply.recipient_blocked:
        raise RecipientGone("the customer blocked the bot")
    chat_id = int(reply.address)
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
    parts = [m.message_id for m in sent]
    return {"external_id": first.message_id, "external_ids": parts, "external_key": f"tg:{chat_id}:{first.message_id}",
            "parts": parts}


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
    if item.channel_ref:
        try:
            return await _send_media(sender, chat_id, item, item.channel_ref, caption, reply_to)
        except TelegramBadRequest as exc:
            if "file" not in exc.message.lower():
                raise
            # An id of another bot (a new token) or of another kind of file: upload the bytes instead.
            log.info("telegram refused a cached file id; uploading", extra={"attachment_id": item.attachment_id,
                                                                            "error": exc.message})
    assert item.storage_key is not None
    data = await sender.desk.storage.read(item.storage_key)
    sent = await _send_media(sender, chat_id, item, BufferedInputFile(data, filename=item.file_name), caption,
                             reply_to)
    file_id = _file_id(sent)
    if file_id and item.attachment_id:
        await _remember(sender, item.attachment_id, file_id)
    return sent


async def _send_media(sender: Sender, chat_id: int, item: OutgoingFile, media: BufferedInputFile | str,
                      caption: str | None, reply_to: ReplyParameters | None) -> Message:
    await sender.paced(chat_id)
    if item.content_type in PHOTO_TYPES and item.size <= PHOTO_MAX:
        return await sender.bot.send_photo(chat_id, media, caption=caption, reply_parameters=reply_to)
    return await sender.bot.send_document(chat_id, media, caption=caption, reply_parameters=reply_to)


def _file_id(sent: Message) -> str | None:
    """The id Telegram keeps the sent file under (a photo's largest size: the one we uploaded)."""
    if sent.photo:
        return sent.photo[-1].file_id
    return sent.document.file_id if sent.document else None


async def _remember(sender: Sender, attachment_id: int, file_id: str) -> None:
    """Record the file id at once (a retry of this reply reuses it). The file is sent already: a
    failure here only costs a later upload, so it is logged, never raised."""
    try:
        async with sender.desk.sessions() as session, session.begin():
            await remember_file_ref(session, attachment_id, CHANNEL_NAME, file_id)
    except Exception as exc:
        log.warning("telegram file id not recorded", extra={"attachment_id": attachment_id, "error": repr(exc)})
