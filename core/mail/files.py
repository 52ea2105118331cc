"""A mail's files into the attachment store; one that is refused is kept as a row with the reason."""

from __future__ import annotations

from core.errors import TooLarge, UnsupportedType
from core.mail.parse import MailFile, ParsedMail
from core.services.conversations import MAX_BODY, NewAttachment
from core.storage import AttachmentStore


def mail_files(mail: ParsedMail) -> list[MailFile]:
    """The mail's attachments, plus its full text when the body is too long for one message."""
    files = list(mail.files)
    if len(mail.text) > MAX_BODY:
        files.append(MailFile("message.txt", "text/plain", mail.text.encode("utf-8")))
    return files


def store_files(storage: AttachmentStore, mail: ParsedMail) -> tuple[NewAttachment, ...]:
    return tuple(_store(storage, item) for item in mail_files(mail))


def _store(storage: AttachmentStore, item: MailFile) -> NewAttachment:
    name = item.file_name or "attachment.bin"
    try:
        stored = storage.save(item.data, name, item.content_type)
    except (TooLarge, UnsupportedType) as exc:
        return NewAttachment(file_name=name, content_type=item.content_type, size=len(item.data),
                             problem=f"{exc.code}: {exc}")
    return NewAttachment(file_name=name, content_type=item.content_type, size=stored.size,
                         sha256=stored.sha256, storage_key=stored.storage_key)
