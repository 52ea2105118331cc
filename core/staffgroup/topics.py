"""The hooks the conversation use cases call, so the ticket's topic follows the ticket.

Every change queues one outbox row of the staff channel, ordered per group (`sg:<chat id>`): the topic
is made, then fed in the order things happened. A `topic_sync` row says only "the ticket has news": its
delivery posts everything the topic has not shown yet, merged, so a burst of customer messages becomes a
few posts within the group's limit and none is dropped (`ticket_topic.shown_up_to`)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.channels import staff_channel_of
from core.models import Message, Note, StaffGroup, Ticket, TicketTopic
from core.staffgroup.links import group_for_queue

ORIGIN = "staff_group"  # message.meta key of a reply written in a topic (not posted back into it)
SYNC, STATE, POST, REACTION, CARD = "topic_sync", "topic_state", "topic_post", "topic_reaction", "topic_card"
CATCH_UP_LIMIT = 200  # open tickets that get a topic when a group is linked, the most recent first
LINKED = "linked"  # a topic_sync's `summary`: the ticket was open before the group was linked


def order_key(chat_id: int) -> str:
    return f"sg:{chat_id}"


async def _queue(session: AsyncSession, chat_id: int, kind: str, payload: dict[str, Any], key: str) -> bool:
    channel = staff_channel_of(session)
    if channel is None:
        return False
    return await outbox.enqueue(session, channel=channel, kind=kind, payload=payload, idempotency_key=key,
                                order_key=order_key(chat_id))


async def ticket_opened(session: AsyncSession, ticket: Ticket) -> None:
    """A ticket needs people: it gets its topic in the queue's group (the default one else). The row's
    primary key is the ticket, so racing first messages make one topic, whatever the front."""
    if await session.scalar(select(StaffGroup.id).limit(1)) is None:
        return  # no group linked: one cheap look per opened ticket
    group = await group_for_queue(session, ticket.queue_id)
    if group is None:
        return
    made = await session.execute(
        insert(TicketTopic).values(ticket_id=ticket.id, chat_id=group.chat_id)
        .on_conflict_do_nothing(index_elements=["ticket_id"]).returning(TicketTopic.ticket_id)
    )
    if made.scalar_one_or_none() is not None:
        await _queue(session, group.chat_id, SYNC, {"ticket_id": ticket.id}, f"topic:{ticket.id}:open")


async def catch_up(session: AsyncSession, group: StaffGroup) -> int:
    """The group was linked (again): the open tickets it covers get their topic there, the most recent
    activity first, at most `CATCH_UP_LIMIT` (older ones get one when they next open). A ticket new to the
    group (no topic yet, or its topic was in a group no longer linked) gets the card and a summary of its
    last lines (`SUMMARY`, as a deleted topic's remake does); one whose topic in this group survived an
    unlink gets what it missed meanwhile; one whose topic is in another linked group stays there."""
    linked = select(StaffGroup.chat_id)
    covered = [Ticket.status != "closed"]
    if group.queue_id is not None:
        covered.append(Ticket.queue_id == group.queue_id)
    else:
        covered.append(Ticket.queue_id.not_in(select(StaffGroup.queue_id).where(StaffGroup.queue_id.is_not(None))))
    rows = (await session.execute(
        select(Ticket.id, TicketTopic.chat_id).outerjoin(TicketTopic, TicketTopic.ticket_id == Ticket.id)
        .where(*covered, or_(TicketTopic.chat_id.is_(None), TicketTopic.chat_id == group.chat_id,
                             TicketTopic.chat_id.not_in(linked)))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(CATCH_UP_LIMIT)
    )).all()
    tag = secrets.token_hex(6)
    for ticket_id, chat_id in rows:
        payload: dict[str, Any] = {"ticket_id": ticket_id}
        if chat_id != group.chat_id:
            await _move_topic(session, ticket_id, group.chat_id)
            payload["summary"] = LINKED
        await _queue(session, group.chat_id, SYNC, payload, f"topic:{ticket_id}:linked:{tag}")
    return len(rows)


async def _move_topic(session: AsyncSession, ticket_id: int, chat_id: int) -> None:
    """The ticket's topic is to be made in `chat_id`, starting after its latest message (the summary shows
    the last lines before it)."""
    latest = select(func.coalesce(func.max(Message.id), 0)).where(Message.ticket_id == ticket_id).scalar_subquery()
    stmt = insert(TicketTopic).values(ticket_id=ticket_id, chat_id=chat_id, shown_up_to=latest)
    await session.execute(stmt.on_conflict_do_update(index_elements=["ticket_id"], set_={
        "chat_id": chat_id, "thread_id": None, "card_message_id": None, "state": "pending",
        "shown_up_to": stmt.excluded.shown_up_to, "recreated": 0,
        "last_post_id": None, "last_post_from": None, "last_post_at": None}))


def topic_chat_of(ticket_id: Any) -> Any:
    """The group the ticket's topic is in, while that group is linked (an unlinked one is left alone),
    as a scalar subquery: a statement about the ticket can return it without a round trip of its own."""
    return (select(TicketTopic.chat_id).join(StaffGroup, StaffGroup.chat_id == TicketTopic.chat_id)
            .where(TicketTopic.ticket_id == ticket_id).limit(1).scalar_subquery())


async def _topic_chat(session: AsyncSession, ticket_id: int) -> int | None:
    return await session.scalar(select(topic_chat_of(ticket_id)))


# `message_added(..., chat_id=ASK)`: the caller did not read the topic's chat; it is read here.
ASK: Any = object()


async def message_added(session: AsyncSession, message: Message, *, chat_id: int | None = ASK) -> None:
    """A message on the ticket (the customer's, a panel reply): the topic shows it (merged with others).
    `chat_id`: `topic_chat_of` as the caller's statement read it in this transaction (None: no topic)."""
    if message.meta and message.meta.get(ORIGIN):
        return  # written in the topic: it is there already
    if chat_id is ASK:
        chat_id = await _topic_chat(session, message.ticket_id)
    if chat_id is not None:
        await _queue(session, chat_id, SYNC, {"ticket_id": message.ticket_id},
                     f"topic:{message.ticket_id}:message:{message.id}")


async def message_edited(session: AsyncSession, message: Message) -> None:
    """A customer edited a message: the topic gets the new text (as a post saying it was edited)."""
    chat_id = await _topic_chat(session, message.ticket_id)
    if chat_id is not None:
        await _queue(session, chat_id, POST, {"ticket_id": message.ticket_id, "edited_message_id": message.id},
                     f"topic:{message.ticket_id}:edit:{message.id}:{len(message.edit_history)}")


async def note_added(session: AsyncSession, note: Note, *, from_topic: bool = False) -> None:
    """An internal note: the topic shows it too (unless it was written there)."""
    if from_topic:
        return
    chat_id = await _topic_chat(session, note.ticket_id)
    if chat_id is not None:
        await _queue(session, chat_id, POST, {"ticket_id": note.ticket_id, "note_id": note.id},
                     f"topic:{note.ticket_id}:note:{note.id}")


async def status_changed(session: AsyncSession, ticket: Ticket, old: str, new: str) -> None:
    """Closing closes the topic, reopening reopens it (the delivery reads the status it finds then)."""
    if "closed" not in (old, new):
        return
    chat_id = await _topic_chat(session, ticket.id)
    if chat_id is not None:
        await _queue(session, chat_id, STATE, {"ticket_id": ticket.id},
                     f"topic:{ticket.id}:state:{new}:{secrets.token_hex(6)}")


async def card_changed(session: AsyncSession, ticket: Ticket, field: str) -> None:
    """Priority, queue or assignee changed (in the panel or from the card): the card is edited in place."""
    chat_id = await _topic_chat(session, ticket.id)
    if chat_id is not None:
        await _queue(session, chat_id, CARD, {"ticket_id": ticket.id},
                     f"topic:{ticket.id}:card:{field}:{secrets.token_hex(6)}")


async def reply_outcome(session: AsyncSession, delivery: outbox.Delivery, outcome: str,
                        result: dict[str, Any] | None, error: str | None) -> None:
    """Outbox outcome hook: a reply written in a topic gets a reaction there saying whether it reached the
    customer (on whatever channel the ticket is)."""
    if delivery.kind != "reply" or delivery.message_id is None:
        return
    meta = await session.scalar(select(Message.meta).where(Message.id == delivery.message_id))
    origin = (meta or {}).get(ORIGIN)
    if not origin:
        return
    chat_id, message_id = int(origin["chat_id"]), int(origin["message_id"])
    await _queue(session, chat_id, REACTION, {"chat_id": chat_id, "message_id": message_id, "outcome": outcome},
                 f"topic-reaction:{delivery.message_id}:{outcome}")
