"""Operator-facing delivery actions: retry a failed reply, forward "typing..." to the customer."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.channels import channels_of, typing_payload
from core.errors import Conflict, NotFound
from core.models import Contact, Message, OutboxItem, Ticket
from core.services import audit
from core.services.contacts import address_for_ticket
from core.services.conversations import publish_message_update

TYPING_EVERY_SECONDS = 4  # Telegram shows "typing" for about five seconds


async def retry_delivery(session: AsyncSession, message_id: int, *, actor_id: int) -> Message:
    """Put a failed reply back in the outbox (same row, attempts reset), so it is sent once more."""
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None:
        raise NotFound("message", message_id=message_id)
    if message.delivery_state != "failed":
        raise Conflict("only a failed delivery can be retried", state=message.delivery_state)
    item = await session.scalar(
        select(OutboxItem).where(OutboxItem.message_id == message.id).order_by(OutboxItem.id.desc()).limit(1)
    )
    if item is None:
        raise Conflict("nothing queued for this message")
    await outbox.requeue(session, item.id)
    message.delivery_state = "queued"
    message.delivery_error = None
    audit.record(session, actor_kind="operator", actor_id=actor_id, action="message.retry", object_type="message",
                 object_id=message.id)
    await publish_message_update(session, message)
    return message


async def operator_typing(session: AsyncSession, ticket: Ticket, *, now: float | None = None) -> bool:
    """Queue a `chat_action` for the customer of a ticket whose channel has a typing indicator, at most
    once per few seconds per ticket. Returns whether one was queued. Nothing for other channels or an
    identity that blocked us. The payload is the spec's `typing_format`, else the neutral `typing_payload`."""
    spec = channels_of(session).get(ticket.channel)
    if ticket.status == "closed" or not spec.typing_indicator:
        return False
    contact = await session.get(Contact, ticket.contact_id)
    identity = await address_for_ticket(session, ticket)
    if contact is None or identity is None or identity.blocked:
        return False
    slot = int((now if now is not None else time.time()) // TYPING_EVERY_SECONDS)
    payload, order_key = (spec.typing_format(identity.external_id, "typing") if spec.typing_format is not None
                          else typing_payload(ticket.channel, identity.external_id, "typing"))
    return await outbox.enqueue(session, channel=ticket.channel, kind="chat_action", payload=payload,
                                idempotency_key=f"typing:{ticket.id}:{slot}", order_key=order_key)
