"""A mail's files into the attachment store; one that is refused is kept as a row with the reason.
A part's Content-ID becomes the attachment's e-mail ref (`channel_refs["email"]`)."""

from __future__ import annotations

from core.errors import TooLarge, UnsupportedType
from core.mail.channel_spec import NAME as CHANNEL
from core.mail.parse import MailFile, ParsedMail
from core.services.conversations import MAX_BODY, NewAttachment
from core.storage import AttachmentStore


def mail_files(mail: ParsedMail) -> list[MailFile]:
    """The mail's attachments, plus its full text when the body is too long for one message."""
    files = list(mail.files)
    if len(mail.text) > MAX_BODY:
        files.append(MailFile("message.txt", "text/plain", mail.text.encode("utf-8")))
    return files


async def store_files(storage: AttachmentStore, mail: ParsedMail) -> tuple[NewAttachment, ...]:
    return tuple([await _store(storage, item) for item in mail_files(mail)])


async def _store(storage: AttachmentStore, item: MailFile) -> NewAttachment:
    name = item.file_name or "attachment.bin"
    refs = {CHANNEL: item.content_id} if item.content_id else {}
    try:
        stored = await storage.save(item.data, name, item.content_type)
    except (TooLarge, UnsupportedType) as exc:
        return NewAttachment(file_name=name, content_type=item.content_type, size=len(item.data),
                             channel_refs=refs, problem=f"{exc.code}: {exc}")
    return NewAttachment(file_name=name, content_type=item.content_type, size=stored.size,
                         sha256=stored.sha256, storage_key=stored.storage_key, channel_refs=refs)
