"""Customer -> desk relay on top of `customer_wrote`: album items join one stored message; a
handoff opens (or finds) the customer's one live ticket."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.errors import InvalidInput
from core.models import Attachment, Contact, ContactIdentity, Message, Ticket
from core.services import flood
from core.services.channel_refs import add_message_refs
from core.services.conversations import (
    Inbound,
    customer_wrote,
    message_payload,
    open_ticket,
    queue_by_slug,
)


async def relay_inbound(session: AsyncSession, ticket: Ticket, inbound: Inbound, *,
                        count: flood.Count | None = None) -> Message | None:
    """Store a customer message. An album arrives as several messages sharing one key: the first
    creates the stored message, the others add their ids (`channel_refs`), their files (and a
    caption if it had none). `count`: see `customer_wrote`."""
    message = await customer_wrote(session, ticket, inbound, count=count)
    if message is not None or not inbound.meta.get("media_group_id") or not inbound.external_key:
        return message
    return await _add_album_item(session, inbound)


async def _add_album_item(session: AsyncSession, inbound: Inbound) -> Message | None:
    message = await session.scalar(
        select(Message).where(Message.external_key == inbound.external_key).with_for_update()
    )
    if message is None:
        return None
    added = [new for channel, ids in inbound.channel_refs.items() for new in add_message_refs(message, channel, ids)]
    if not added:
        return None  # this item is already in the album
    if inbound.body and not message.body:
        message.body = inbound.body
    message.kind = "album"
    session.add_all(
        Attachment(message_id=message.id, file_name=item.file_name[:255], content_type=item.content_type[:127],
                   size=item.size, sha256=item.sha256, storage_key=item.storage_key,
                   channel_refs=dict(item.channel_refs), problem=item.problem)
        for item in inbound.attachments
    )
    await session.flush()
    await session.refresh(message)
    files = (await session.scalars(select(Attachment).where(Attachment.message_id == message.id)
                                   .order_by(Attachment.id))).all()
    events.publish(session, "message.updated", message_payload(message, list(files)), ticket_id=message.ticket_id)
    return message


@dataclass(frozen=True)
class Route:
    """Where an adapter's handoffs go besides the topic: a website's own queue (wins over the topic the
    customer picked) and the website itself, remembered on the ticket."""

    queue_id: int | None = None
    site_id: int | None = None


async def hand_off(session: AsyncSession, contact: Contact, queue_slug: str, subject: str, *,
                   channel: str, identity: ContactIdentity | None = None,
                   route: Route | None = None) -> tuple[Ticket, bool]:
    """The customer asked for a human and picked a topic, on `channel` (the adapter's name): their
    live ticket (never a second one), a new one on `identity` (the one they write from)."""
    queue = await queue_by_slug(session, queue_slug)
    if not queue.customer_visible:
        raise InvalidInput("not a customer topic", field="queue", queue=queue_slug)
    route = route or Route()
    ticket, created = await open_ticket(session, contact=contact, channel=channel, queue_slug=queue_slug,
                                        subject=subject or queue.name, identity=identity,
                                        queue_id=route.queue_id, site_id=route.site_id)
    if created:
        ticket.updated_at = func.now()
    return ticket, created


async def recent_tickets(session: AsyncSession, contact_id: int, limit: int = 5) -> list[Ticket]:
    return list((await session.scalars(
        select(Ticket).where(Ticket.contact_id == contact_id).order_by(Ticket.id.desc()).limit(limit)
    )).all())
