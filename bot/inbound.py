"""A Telegram message as the desk stores it: text, files fetched with getFile into the attachment
store (over Telegram's 20 MB bot limit: recorded with a note), placeholders for what has no file."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message

from bot.channel_spec import DOWNLOAD_LIMIT, NAME
from core.errors import TooLarge, UnsupportedType
from core.services.channel_refs import refs_of
from core.services.conversations import Inbound, NewAttachment
from core.storage import AttachmentStore

log = logging.getLogger(__name__)

TELEGRAM_DOWNLOAD_LIMIT = DOWNLOAD_LIMIT
TOO_BIG = "larger than Telegram's 20 MB bot download limit; ask the customer for another way to send it"


@dataclass(frozen=True)
class FileRef:
    file_id: str
    file_name: str
    content_type: str
    size: int | None


def message_key(chat_id: int, message_id: int) -> str:
    return f"tg:{chat_id}:{message_id}"


def album_key(chat_id: int, media_group_id: str) -> str:
    return f"tg:{chat_id}:album:{media_group_id}"


def describe(message: Message) -> tuple[str, str, dict[str, Any], FileRef | None]:
    """(kind, body, meta, file) for any message a customer can send."""
    caption = message.caption or ""
    if message.text is not None:
        return "text", message.text, {}, None
    if message.photo:
        photo = message.photo[-1]
        return "photo", caption, {}, FileRef(photo.file_id, f"photo_{photo.file_unique_id}.jpg", "image/jpeg",
                                             photo.file_size)
    if message.document:
        doc = message.document
        return "document", caption, {}, FileRef(doc.file_id, doc.file_name or "document",
                                                doc.mime_type or "application/octet-stream", doc.file_size)
    for kind, default_name, default_type in (
        ("voice", "voice.ogg", "audio/ogg"), ("audio", "audio.mp3", "audio/mpeg"), ("video", "video.mp4", "video/mp4"),
        ("video_note", "video_note.mp4", "video/mp4"), ("animation", "animation.mp4", "video/mp4"),
    ):
        media = getattr(message, kind)
        if media is not None:
            name = getattr(media, "file_name", None) or default_name
            ctype = getattr(media, "mime_type", None) or default_type
            return kind, caption, {"duration": getattr(media, "duration", None)}, FileRef(
                media.file_id, name, ctype, media.file_size)
    if message.sticker:
        return "sticker", f"[sticker {message.sticker.emoji or ''}]".replace(" ]", "]"), {
            "emoji": message.sticker.emoji, "file_id": message.sticker.file_id}, None
    if message.venue:
        venue = message.venue
        return "location", f"📍 {venue.title}, {venue.address}", {
            "latitude": venue.location.latitude, "longitude": venue.location.longitude, "title": venue.title}, None
    if message.location:
        loc = message.location
        return "location", f"📍 {loc.latitude:.6f}, {loc.longitude:.6f}", {
            "latitude": loc.latitude, "longitude": loc.longitude}, None
    if message.contact:
        person = message.contact
        name = " ".join(p for p in (person.first_name, person.last_name) if p)
        return "contact", f"👤 {name}, {person.phone_number}", {
            "phone_number": person.phone_number, "first_name": person.first_name, "user_id": person.user_id}, None
    content = str(getattr(message.content_type, "value", message.content_type))
    return "unsupported", f"[unsupported message: {content}]", {"content_type": content}, None


async def fetch(bot: Bot, storage: AttachmentStore, ref: FileRef) -> NewAttachment:
    """Download into the store. Refusals become a note on the attachment; network errors propagate,
    so the update is not acknowledged and Telegram sends it again."""
    def attachment(size: int, *, problem: str | None = None, sha256: str | None = None,
                   storage_key: str | None = None) -> NewAttachment:
        return NewAttachment(ref.file_name, ref.content_type, size, sha256=sha256, storage_key=storage_key,
                             channel_refs={NAME: ref.file_id}, problem=problem)

    if ref.size is not None and ref.size > TELEGRAM_DOWNLOAD_LIMIT:
        return attachment(ref.size, problem=TOO_BIG)
    try:
        file = await bot.get_file(ref.file_id)
    except TelegramBadRequest as exc:
        if "too big" in exc.message:
            return attachment(ref.size or 0, problem=TOO_BIG)
        raise
    if file.file_path is None:
        return attachment(ref.size or 0, problem="Telegram gave no file path")
    buffer = await bot.download_file(file.file_path)
    assert isinstance(buffer, io.BytesIO)  # no destination given: aiogram makes a BytesIO
    data = buffer.getvalue()
    try:
        stored = await storage.save(data, ref.file_name, ref.content_type)
    except (TooLarge, UnsupportedType) as exc:
        return attachment(len(data), problem=f"{exc.code}: {exc}")
    return attachment(stored.size, sha256=stored.sha256, storage_key=stored.storage_key)


async def to_inbound(bot: Bot, storage: AttachmentStore, message: Message) -> Inbound:
    kind, body, meta, ref = describe(message)
    attachments = (await fetch(bot, storage, ref),) if ref is not None else ()
    reply = message.reply_to_message
    if message.media_group_id:
        meta = {**meta, "media_group_id": message.media_group_id}
    return Inbound(
        body=body,
        kind=kind,
        external_key=(album_key(message.chat.id, message.media_group_id) if message.media_group_id
                      else message_key(message.chat.id, message.message_id)),
        channel_refs=refs_of(NAME, [message.message_id]),
        reply_to_external_key=message_key(message.chat.id, reply.message_id) if reply else None,
        meta={k: v for k, v in meta.items() if v is not None},
        attachments=attachments,
    )
