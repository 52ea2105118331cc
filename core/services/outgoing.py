"""What a channel needs to send a stored operator reply, read in one short session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.models import Attachment, Contact, Message, Operator, Ticket


@dataclass(frozen=True)
class OutgoingFile:
    file_name: str
    content_type: str
    size: int
    storage_key: str | None
    problem: str | None


@dataclass(frozen=True)
class OutgoingReply:
    message_id: int
    ticket_id: int
    body: str
    author_name: str
    telegram_chat_id: int | None
    email: str | None
    language: str
    recipient_blocked: bool
    reply_to_external_id: str | None
    files: tuple[OutgoingFile, ...]


async def load_outgoing_reply(session: AsyncSession, message_id: int) -> OutgoingReply:
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("message", message_id=message_id)
    ticket = await session.get(Ticket, message.ticket_id)
    assert ticket is not None
    contact = await session.get(Contact, ticket.contact_id)
    assert contact is not None
    operator = await session.get(Operator, message.operator_id) if message.operator_id else None
    parent = await session.get(Message, message.reply_to_id) if message.reply_to_id else None
    files = (await session.scalars(
        select(Attachment).where(Attachment.message_id == message.id).order_by(Attachment.id)
    )).all()
    return OutgoingReply(
        message_id=message.id,
        ticket_id=ticket.id,
        body=message.body,
        author_name=operator.display_name if operator else "",
        telegram_chat_id=contact.telegram_user_id,
        email=contact.email,
        language=contact.language,
        recipient_blocked=contact.blocked,
        reply_to_external_id=parent.external_id if parent is not None and parent.author_kind == "customer" else None,
        files=tuple(OutgoingFile(f.file_name, f.content_type, f.size, f.storage_key, f.problem) for f in files),
    )


@dataclass(frozen=True)
class Recipient:
    contact_id: int
    telegram_chat_id: int | None
    language: str
    blocked: bool


async def load_recipient(session: AsyncSession, contact_id: int) -> Recipient:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("contact", contact_id=contact_id)
    return Recipient(contact.id, contact.telegram_user_id, contact.language, contact.blocked)
