"""Customer-side rules of live conversations on every channel: which ticket a message belongs to (live, reopened or
none), closing by the customer, ratings (flood counting: `core.services.flood`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import events, outbox
from core.channels import channels_of
from core.errors import InvalidInput, NotAllowed, NotFound
from core.models import Contact, Ticket, TicketRating
from core.services import tickets as ticket_service
from core.services.contacts import block_delivery_recipient
from core.services.conversations import live_ticket, system_message

MAX_COMMENT = 2000


async def ticket_for_message(session: AsyncSession, contact: Contact, channel: str, reopen_window_hours: float,
                             ) -> tuple[Ticket | None, bool]:
    """The live ticket a customer message on `channel` goes to; on a channel that `reopens`, a ticket
    closed within the window is reopened (returns reopened=True); else the message starts a new
    conversation (None)."""
    live = await live_ticket(session, contact.id, channel)
    if live is not None:
        return live, False
    if not channels_of(session).get(channel).reopens or reopen_window_hours <= 0:
        return None, False
    recent = await last_closed_ticket(session, contact.id, channel)
    if recent is None:
        return None, False
    within = await session.scalar(
        select(Ticket.id).where(Ticket.id == recent.id,
                                Ticket.closed_at > func.now() - timedelta(hours=reopen_window_hours))
    )
    if within is None:
        return None, False
    ticket = await ticket_service.change_status(session, recent.id, "open", actor_kind="customer",
                                                actor_id=contact.id)
    await system_message(session, ticket, "Reopened by the customer's message", line="reopened")
    return ticket, True


async def last_closed_ticket(session: AsyncSession, contact_id: int, channel: str) -> Ticket | None:
    return await session.scalar(
        select(Ticket).where(Ticket.contact_id == contact_id, Ticket.channel == channel, Ticket.status == "closed")
        .order_by(Ticket.closed_at.desc().nulls_last(), Ticket.id.desc()).limit(1)
    )


async def close_by_customer(session: AsyncSession, contact: Contact, channel: str) -> Ticket | None:
    live = await live_ticket(session, contact.id, channel)
    if live is None:
        return None
    return await ticket_service.change_status(session, live.id, "closed", actor_kind="customer", actor_id=contact.id)


async def _own_closed_ticket(session: AsyncSession, contact_id: int, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.contact_id != contact_id:
        raise NotFound("ticket", ticket_id=ticket_id)
    if ticket.status != "closed":
        raise NotAllowed("ticket is not closed", ticket_id=ticket_id)
    return ticket


async def rate_ticket(session: AsyncSession, *, contact_id: int, ticket_id: int, score: int) -> TicketRating:
    """The customer's 1-5 rating of a closed ticket; pressing again changes it."""
    if not 1 <= score <= 5:
        raise InvalidInput("score must be 1-5", field="score")
    ticket = await _own_closed_ticket(session, contact_id, ticket_id)
    stmt = insert(TicketRating).values(ticket_id=ticket.id, contact_id=contact_id, score=score)
    stmt = stmt.on_conflict_do_update(index_elements=["ticket_id"], set_={"score": score})
    await session.execute(stmt)
    rating = await session.get(TicketRating, ticket.id, populate_existing=True)
    assert rating is not None
    await system_message(session, ticket, f"Rating: {score}/5", line="rating", score=score)
    events.publish(session, "ticket.rated", {"ticket_id": ticket.id, "score": score, "comment": rating.comment},
                   ticket_id=ticket.id)
    return rating


async def comment_rating(session: AsyncSession, *, contact_id: int, ticket_id: int, comment: str) -> TicketRating:
    comment = comment.strip()
    if not comment or len(comment) > MAX_COMMENT:
        raise InvalidInput("comment is empty or too long", field="comment", max_length=MAX_COMMENT)
    ticket = await _own_closed_ticket(session, contact_id, ticket_id)
    rating = await session.get(TicketRating, ticket.id, with_for_update=True)
    if rating is None:
        raise NotFound("rating", ticket_id=ticket_id)
    rating.comment = comment
    await session.flush()
    await system_message(session, ticket, f"Rating comment: {comment}", line="rating_comment", comment=comment)
    events.publish(session, "ticket.rated", {"ticket_id": ticket.id, "score": rating.score, "comment": comment},
                   ticket_id=ticket.id)
    return rating


async def mark_recipient_gone(session: AsyncSession, delivery: outbox.Delivery, outcome: str,
                              result: dict[str, Any] | None, error: str | None) -> None:
    """Outbox outcome hook for deliveries without a stored message (notices, rating requests): the
    identity the delivery went to is blocked, as `record_delivery` does for replies (the ticket's
    identity, else the contact's on the channel, else the one the payload addresses)."""
    if outcome != "gone" or delivery.message_id is not None:
        return
    await block_delivery_recipient(session, delivery.channel, delivery.payload)
