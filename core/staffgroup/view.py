"""What the delivery side reads about a ticket's topic and records after it talked to Telegram.
Each call is a short transaction of its own: a topic made or a post sent is recorded at once, so a
retry never makes a second topic or posts the same lines twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.channels import channels_of
from core.models import Attachment, Contact, Message, Note, Operator, Queue, StaffGroup, Ticket, TicketTopic
from core.staffgroup.topics import ORIGIN

SUMMARY_LINES = 10  # a recreated topic starts with the card and the ticket's last lines
APPEND_WINDOW = timedelta(minutes=3)  # a post older than this is not extended: new lines get a new post
NO_LAST_POST: dict[str, None] = {"last_post_id": None, "last_post_from": None, "last_post_at": None}


@dataclass(frozen=True)
class TopicView:
    ticket_id: int
    subject: str
    status: str
    priority: str
    channel: str  # the channel's label
    queue: str
    customer: str
    assignee: str | None
    frt_due_at: datetime | None
    ttr_due_at: datetime | None
    panel_url: str
    chat_id: int
    thread_id: int | None
    card_message_id: int | None
    shown_up_to: int
    recreated: int
    language: str  # the group's: its linking admin's
    last_post_id: int | None = None  # the post the next lines may be appended to (see `appendable`)
    last_post_from: int | None = None
    last_post_at: datetime | None = None


@dataclass(frozen=True)
class EntryFile:
    """A file of a message, as the topic shows it after the text: by the id the staff channel already
    has for it (`channel_refs`), else uploaded from the attachment store; without either, its name only."""

    name: str
    content_type: str
    size: int
    storage_key: str | None
    channel_ref: str | None


@dataclass(frozen=True)
class Entry:
    """One line the topic shows: a message, a note or an edit."""

    id: int
    author: str  # customer, operator, bot, system, note, edit
    name: str
    body: str
    files: tuple[str, ...] = ()
    attachments: tuple[EntryFile, ...] = ()


async def topic_view(session: AsyncSession, ticket_id: int, origin: str) -> TopicView | None:
    row = (await session.execute(
        select(Ticket, TicketTopic, Contact.name, Queue.name)
        .join(TicketTopic, TicketTopic.ticket_id == Ticket.id)
        .join(Contact, Contact.id == Ticket.contact_id)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(Ticket.id == ticket_id)
    )).first()
    if row is None:
        return None
    ticket, topic, customer, queue = row
    if await session.scalar(select(StaffGroup.id).where(StaffGroup.chat_id == topic.chat_id).limit(1)) is None:
        return None  # the group was unlinked: a delivery queued before that posts nothing
    assignee = (await session.scalar(select(Operator.display_name).where(Operator.id == ticket.assignee_id))
                if ticket.assignee_id else None)
    language = await session.scalar(
        select(Operator.language).join(StaffGroup, StaffGroup.linked_by == Operator.id)
        .where(StaffGroup.chat_id == topic.chat_id).limit(1))
    try:
        label = channels_of(session).get(ticket.channel).label
    except (LookupError, Exception):  # an unknown or unregistered channel: its name
        label = ticket.channel
    return TopicView(
        ticket_id=ticket.id, subject=ticket.subject, status=ticket.status, priority=ticket.priority,
        channel=label, queue=queue, customer=customer or f"#{ticket.contact_id}", assignee=assignee,
        frt_due_at=ticket.frt_due_at, ttr_due_at=ticket.ttr_due_at,
        panel_url=f"{origin.rstrip('/')}/tickets/{ticket.id}", chat_id=topic.chat_id, thread_id=topic.thread_id,
        card_message_id=topic.card_message_id, shown_up_to=topic.shown_up_to, recreated=topic.recreated,
        language=language or "en", last_post_id=topic.last_post_id, last_post_from=topic.last_post_from,
        last_post_at=topic.last_post_at,
    )


async def pending(session: AsyncSession, view: TopicView, limit: int = 200, staff_channel: str = "") -> list[Entry]:
    """The ticket's messages the topic has not shown yet, oldest first (not those written in it)."""
    rows = (await session.execute(
        select(Message, Operator.display_name).outerjoin(Operator, Operator.id == Message.operator_id)
        .where(Message.ticket_id == view.ticket_id, Message.id > view.shown_up_to)
        .order_by(Message.id).limit(limit)
    )).all()
    return await _entries(session, view, [(m, name) for m, name in rows], staff_channel=staff_channel)


async def appendable(session: AsyncSession, view: TopicView, staff_channel: str = "") -> list[Entry]:
    """The lines of the topic's last post when new lines may be appended to it by an edit: it is younger
    than `APPEND_WINDOW` and no note went into the topic since (a note is posted between). Else []."""
    if view.last_post_id is None or view.last_post_from is None or view.last_post_at is None:
        return []
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    if now - view.last_post_at > APPEND_WINDOW:
        return []
    if await session.scalar(select(Note.id).where(Note.ticket_id == view.ticket_id,
                                                  Note.created_at >= view.last_post_at).limit(1)) is not None:
        return []
    rows = (await session.execute(
        select(Message, Operator.display_name).outerjoin(Operator, Operator.id == Message.operator_id)
        .where(Message.ticket_id == view.ticket_id, Message.id >= view.last_post_from,
               Message.id <= view.shown_up_to).order_by(Message.id)
    )).all()
    return await _entries(session, view, [(m, name) for m, name in rows], staff_channel=staff_channel)


async def summary(session: AsyncSession, view: TopicView) -> list[Entry]:
    """The ticket's last lines up to what the lost topic had shown, for the topic made anew."""
    rows = (await session.execute(
        select(Message, Operator.display_name).outerjoin(Operator, Operator.id == Message.operator_id)
        .where(Message.ticket_id == view.ticket_id, Message.id <= view.shown_up_to)
        .order_by(Message.id.desc()).limit(SUMMARY_LINES)
    )).all()
    return await _entries(session, view, [(m, name) for m, name in reversed(rows)], keep_own=True)


async def _entries(session: AsyncSession, view: TopicView, rows: list[tuple[Message, str | None]], *,
                   keep_own: bool = False, staff_channel: str = "") -> list[Entry]:
    ids = [m.id for m, _ in rows]
    files: dict[int, list[str]] = {}
    sendable: dict[int, list[EntryFile]] = {}
    if ids:
        for attachment in (await session.scalars(
            select(Attachment).where(Attachment.message_id.in_(ids)).order_by(Attachment.id)
        )).all():
            key = int(attachment.message_id or 0)
            files.setdefault(key, []).append(attachment.file_name)
            ref = (attachment.channel_refs or {}).get(staff_channel) if staff_channel else None
            if staff_channel and (attachment.storage_key or ref):
                sendable.setdefault(key, []).append(EntryFile(
                    attachment.file_name, attachment.content_type, attachment.size, attachment.storage_key,
                    str(ref) if ref else None))
    entries = []
    for message, operator in rows:
        if not keep_own and (message.meta or {}).get(ORIGIN):
            entries.append(Entry(message.id, "own", "", ""))  # shown already: only moves the cursor
            continue
        name = operator or (view.customer if message.author_kind == "customer" else "")
        entries.append(Entry(message.id, message.author_kind, name, message.body,
                             tuple(files.get(message.id, ())), tuple(sendable.get(message.id, ()))))
    return entries


async def note_entry(session: AsyncSession, note_id: int) -> Entry | None:
    row = (await session.execute(
        select(Note, Operator.display_name).outerjoin(Operator, Operator.id == Note.operator_id)
        .where(Note.id == note_id)
    )).first()
    return Entry(row[0].id, "note", row[1] or "", row[0].body) if row else None


async def edit_entry(session: AsyncSession, view: TopicView, message_id: int) -> Entry | None:
    message = await session.get(Message, message_id)
    return Entry(message.id, "edit", view.customer, message.body) if message else None


async def topic_made(session: AsyncSession, ticket_id: int, thread_id: int) -> None:
    await session.execute(update(TicketTopic).where(TicketTopic.ticket_id == ticket_id)
                          .values(thread_id=thread_id, card_message_id=None, state="open", **NO_LAST_POST))


async def posted(session: AsyncSession, ticket_id: int, message_id: int | None, first: int, up_to: int) -> None:
    """A post of the ticket's lines `first`..`up_to` went out as Telegram's `message_id` (None: something
    came after it, such as its files, so the next lines start a new post)."""
    last: dict[str, object] = (
        {"last_post_id": message_id, "last_post_from": first, "last_post_at": func.now()} if message_id is not None
        else dict(NO_LAST_POST))
    await session.execute(update(TicketTopic).where(TicketTopic.ticket_id == ticket_id)
                          .values(shown_up_to=func.greatest(TicketTopic.shown_up_to, up_to), **last))


async def post_ended(session: AsyncSession, ticket_id: int) -> None:
    """Something else went into the topic (a note, an edit line): the next lines start a new post."""
    await session.execute(update(TicketTopic).where(TicketTopic.ticket_id == ticket_id).values(**NO_LAST_POST))


async def card_posted(session: AsyncSession, ticket_id: int, message_id: int) -> None:
    await session.execute(update(TicketTopic).where(TicketTopic.ticket_id == ticket_id)
                          .values(card_message_id=message_id))


async def shown(session: AsyncSession, ticket_id: int, up_to: int) -> None:
    await session.execute(update(TicketTopic).where(TicketTopic.ticket_id == ticket_id)
                          .values(shown_up_to=func.greatest(TicketTopic.shown_up_to, up_to)))


async def topic_lost(session: AsyncSession, ticket_id: int, thread_id: int) -> None:
    """Staff deleted the topic: the next delivery makes it again, with a summary of the ticket."""
    await session.execute(update(TicketTopic)
                          .where(TicketTopic.ticket_id == ticket_id, TicketTopic.thread_id == thread_id)
                          .values(thread_id=None, card_message_id=None, recreated=TicketTopic.recreated + 1,
                                  **NO_LAST_POST))


async def topic_state(session: AsyncSession, ticket_id: int, state: str) -> None:
    await session.execute(update(TicketTopic).where(TicketTopic.ticket_id == ticket_id).values(state=state))
