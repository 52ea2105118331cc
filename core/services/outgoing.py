"""What a channel needs to send a stored operator reply, read in one short session. The address is the
`external_id` of the identity the ticket's conversation is with; the channel knows what it means."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.models import Attachment, Contact, Message, Operator, Ticket
from core.services.channel_refs import file_ref, first_ref
from core.services.contacts import address_for_ticket, identity_of


@dataclass(frozen=True)
class OutgoingFile:
    file_name: str
    content_type: str
    size: int
    storage_key: str | None
    problem: str | None
    attachment_id: int = 0
    channel_ref: str | None = None  # what the reply's channel already calls this file (send it without upload)


@dataclass(frozen=True)
class OutgoingReply:
    message_id: int
    ticket_id: int
    body: str
    author_name: str
    address: str | None  # None: the contact has no identity on the ticket's channel
    language: str
    recipient_blocked: bool
    reply_to_external_id: str | None  # the channel's id of the customer message this answers
    files: tuple[OutgoingFile, ...]


async def load_outgoing_reply(session: AsyncSession, message_id: int) -> OutgoingReply:
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("message", message_id=message_id)
    ticket = await session.get(Ticket, message.ticket_id)
    assert ticket is not None
    contact = await session.get(Contact, ticket.contact_id)
    assert contact is not None
    identity = await address_for_ticket(session, ticket)
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
        address=identity.external_id if identity is not None else None,
        language=contact.language,
        recipient_blocked=identity.blocked if identity is not None else contact.blocked,
        reply_to_external_id=(first_ref(parent, ticket.channel)
                              if parent is not None and parent.author_kind == "customer" else None),
        files=tuple(OutgoingFile(f.file_name, f.content_type, f.size, f.storage_key, f.problem, f.id,
                                 file_ref(f, ticket.channel)) for f in files),
    )


@dataclass(frozen=True)
class Recipient:
    contact_id: int
    address: str | None
    language: str
    blocked: bool


async def load_recipient(session: AsyncSession, contact_id: int, *, ticket_id: int, channel: str) -> Recipient:
    """The customer of a ticket's notice: at the ticket's identity (the chat the conversation is on),
    else at the contact's identity on `channel` (a ticket gone, or opened by an operator)."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("contact", contact_id=contact_id)
    ticket = await session.get(Ticket, ticket_id)
    if ticket is not None and ticket.contact_id == contact.id:
        identity = await address_for_ticket(session, ticket)
    else:
        identity = await identity_of(session, contact.id, channel)
    return Recipient(contact.id, identity.external_id if identity is not None else None, contact.language,
                     identity.blocked if identity is not None else contact.blocked)
