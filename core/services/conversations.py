"""The dialog use cases shared by every front: open a ticket, a customer writes, an operator replies,
an operator notes. Each writes its rows, publishes its events and queues its deliveries in the
caller's transaction; the caller commits once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import events, outbox
from core.channels import channels_of
from core.errors import InvalidInput, NotFound, TicketClosed
from core.models import Attachment, Contact, Message, Note, Operator, Queue, Ticket
from core.services import tickets as ticket_service
from core.sla import hooks as sla

MAX_BODY = 20_000


@dataclass(frozen=True)
class NewAttachment:
    """A file already saved in the attachment store (or a note why it could not be)."""

    file_name: str
    content_type: str
    size: int
    sha256: str | None = None
    storage_key: str | None = None
    telegram_file_id: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A customer message as a channel parsed it."""

    body: str
    kind: str = "text"
    external_key: str | None = None
    external_id: str | None = None
    reply_to_external_key: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[NewAttachment, ...] = ()


def message_payload(message: Message, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    return {
        "id": message.id,
        "ticket_id": message.ticket_id,
        "author_kind": message.author_kind,
        "operator_id": message.operator_id,
        "body": message.body,
        "kind": message.kind,
        "meta": message.meta,
        "reply_to_id": message.reply_to_id,
        "delivery_state": message.delivery_state,
        "delivery_error": message.delivery_error,
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "created_at": message.created_at.isoformat() if message.created_at else None,
        "attachments": [attachment_payload(a) for a in attachments or []],
    }


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "file_name": attachment.file_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "available": attachment.storage_key is not None,
        "problem": attachment.problem,
    }


async def queue_by_slug(session: AsyncSession, slug: str) -> Queue:
    queue = await session.scalar(select(Queue).where(Queue.slug == slug))
    if queue is None:
        raise NotFound("queue", slug=slug)
    return queue


# The statements of a customer's message are built once: they run for every inbound message, and
# building and keying a statement costs about as much CPU as running it.
_LIVE_TELEGRAM_TICKET = select(Ticket).where(
    Ticket.contact_id == bindparam("contact_id"), Ticket.channel == "telegram", Ticket.status != "closed"
)
_MESSAGE_BY_KEY = select(Message.id).where(Message.external_key == bindparam("key"))
# Core INSERT/UPDATE ... RETURNING loaded as entities: half the CPU of ORM-enabled DML with RETURNING.
_MESSAGES, _TICKETS = cast(Table, Message.__table__), cast(Table, Ticket.__table__)
_INSERT_CUSTOMER_MESSAGE = select(Message).from_statement(
    insert(_MESSAGES)
    .values(ticket_id=bindparam("ticket_id"), author_kind="customer", body=bindparam("body"), kind=bindparam("kind"),
            meta=bindparam("meta"), external_key=bindparam("external_key"), external_id=bindparam("external_id"),
            reply_to_id=bindparam("reply_to_id"))
    .on_conflict_do_nothing(index_elements=["external_key"])
    .returning(*_MESSAGES.c)
)
_CUSTOMER_MESSAGE_ARRIVED = select(Ticket).from_statement(
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("ticket_id"))
    .values(unread_count=_TICKETS.c.unread_count + 1, last_customer_message_at=func.now(), updated_at=func.now())
    .returning(*_TICKETS.c)
)
_LOAD = {"populate_existing": True}


async def live_telegram_ticket(session: AsyncSession, contact_id: int) -> Ticket | None:
    return await session.scalar(_LIVE_TELEGRAM_TICKET, {"contact_id": contact_id})


async def open_ticket(
    session: AsyncSession,
    *,
    contact: Contact,
    channel: str,
    queue_slug: str,
    subject: str,
    priority: str = "medium",
) -> tuple[Ticket, bool]:
    """Open a ticket. On a channel of `live_conversations`, an existing live ticket is returned instead
    (created=False): a partial unique index makes this hold even for two processes at once."""
    queue = await queue_by_slug(session, queue_slug)
    values = {
        "contact_id": contact.id,
        "channel": channel,
        "queue_id": queue.id,
        "subject": subject[:512],
        "priority": priority,
    }
    stmt = insert(Ticket).values(**values)
    if channels_of(session).get(channel).live_conversations:
        # The index covers Telegram's tickets only (migration 0002) until contact identities generalise it.
        # The predicate is literal SQL: with bound parameters PostgreSQL cannot match the partial index
        # once a prepared statement switches to its generic plan (from the 6th run on a connection).
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["contact_id"], index_where=text("status <> 'closed' AND channel = 'telegram'")
        )
    ticket_id = (await session.execute(stmt.returning(Ticket.id))).scalar_one_or_none()
    if ticket_id is None:
        existing = await live_telegram_ticket(session, contact.id)
        assert existing is not None
        return existing, False
    ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    await sla.ticket_opened(session, ticket)
    await session.flush()
    await session.refresh(ticket)
    events.publish(session, "ticket.created", ticket_service.ticket_payload(ticket), ticket_id=ticket.id)
    return ticket, True


async def _attach(session: AsyncSession, message: Message, files: tuple[NewAttachment, ...]) -> list[Attachment]:
    rows = [
        Attachment(
            message_id=message.id,
            file_name=item.file_name[:255],
            content_type=item.content_type[:127],
            size=item.size,
            sha256=item.sha256,
            storage_key=item.storage_key,
            telegram_file_id=item.telegram_file_id,
            problem=item.problem,
        )
        for item in files
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def customer_wrote(session: AsyncSession, ticket: Ticket, inbound: Inbound) -> Message | None:
    """Store a customer message on a ticket. Returns None when its external key was already stored.
    Three statements on the common path: the message and the ticket come back from their INSERT and
    UPDATE (RETURNING), the events are written at commit."""
    if len(inbound.body) > MAX_BODY:
        raise InvalidInput("message too long", field="body", max_length=MAX_BODY)
    reply_to_id = None
    if inbound.reply_to_external_key:
        reply_to_id = await session.scalar(_MESSAGE_BY_KEY, {"key": inbound.reply_to_external_key})
    message = await session.scalar(_INSERT_CUSTOMER_MESSAGE, {
        "ticket_id": ticket.id, "body": inbound.body, "kind": inbound.kind, "meta": inbound.meta,
        "external_key": inbound.external_key, "external_id": inbound.external_id, "reply_to_id": reply_to_id,
    }, execution_options=_LOAD)
    if message is None:
        return None
    attachments = await _attach(session, message, inbound.attachments) if inbound.attachments else []
    if ticket.status == "waiting_customer":
        await ticket_service.customer_returned(session, ticket)
    await sla.customer_wrote(session, ticket)
    await session.flush()  # what the status and SLA hooks changed (rarely anything: a paused clock resumes)
    # The session's own ticket object comes back, its columns refreshed from RETURNING.
    updated = await session.scalar(_CUSTOMER_MESSAGE_ARRIVED, {"ticket_id": ticket.id}, execution_options=_LOAD)
    assert updated is not None
    events.publish(session, "message.created", message_payload(message, attachments), ticket_id=updated.id)
    events.publish(session, "ticket.updated", ticket_service.ticket_payload(updated), ticket_id=updated.id)
    return message


async def publish_message_update(session: AsyncSession, message: Message) -> None:
    """Write the message's changes and tell the panel (`message.updated`)."""
    await session.flush()
    await session.refresh(message)
    events.publish(session, "message.updated", message_payload(message), ticket_id=message.ticket_id)


async def edit_customer_message(session: AsyncSession, external_key: str, body: str) -> Message | None:
    """A customer edited a message: the stored one changes, its earlier text is kept in history."""
    message = await session.scalar(select(Message).where(Message.external_key == external_key).with_for_update())
    if message is None or message.body == body:
        return message
    history = list(message.edit_history)
    history.append({"body": message.body, "replaced_at": _now_iso()})
    message.edit_history = history
    message.body = body
    message.edited_at = func.now()
    await publish_message_update(session, message)
    return message


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


async def operator_replied(
    session: AsyncSession,
    *,
    ticket_id: int,
    operator: Operator,
    body: str,
    attachments: tuple[NewAttachment, ...] = (),
    reply_to_id: int | None = None,
    client_key: str | None = None,
) -> Message:
    """An operator's public reply: stored, published, and queued for the ticket's channel.
    `client_key` (a key the panel generates per send) makes a double click send once."""
    body = body.strip()
    if not body and not attachments:
        raise InvalidInput("empty reply", field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput("message too long", field="body", max_length=MAX_BODY)
    ticket = await ticket_service.get_ticket_for_update(session, ticket_id)
    external_key = f"reply:{operator.id}:{client_key}" if client_key else None
    if external_key:
        existing = await session.scalar(select(Message).where(Message.external_key == external_key))
        if existing is not None:
            return existing
    if ticket.status == "closed":
        raise TicketClosed("ticket is closed", ticket_id=ticket.id)
    if reply_to_id is not None:
        parent = await session.get(Message, reply_to_id)
        if parent is None or parent.ticket_id != ticket.id:
            raise InvalidInput("reply_to_id is not a message of this ticket", field="reply_to_id")
    message = Message(
        ticket_id=ticket.id,
        author_kind="operator",
        operator_id=operator.id,
        body=body,
        kind="text" if not attachments else "file",
        reply_to_id=reply_to_id,
        delivery_state="queued",
        external_key=external_key,
    )
    session.add(message)
    await session.flush()
    files = await _attach(session, message, attachments)
    await outbox.enqueue(
        session,
        channel=ticket.channel,
        kind="reply",
        payload={"ticket_id": ticket.id, "message_id": message.id, "contact_id": ticket.contact_id},
        idempotency_key=f"message:{message.id}",
        order_key=f"contact:{ticket.contact_id}",
        message_id=message.id,
    )
    ticket.unread_count = 0
    ticket.updated_at = func.now()
    if ticket.status == "open":
        ticket.status = "in_progress"
    await sla.operator_replied(session, ticket)
    await session.flush()
    await session.refresh(ticket)
    await session.refresh(message)
    events.publish(session, "message.created", message_payload(message, files), ticket_id=ticket.id)
    events.publish(session, "ticket.updated", ticket_service.ticket_payload(ticket), ticket_id=ticket.id)
    return message


async def system_message(
    session: AsyncSession, ticket: Ticket, body: str, *, author_kind: str = "system", line: str | None = None,
    **params: str | int,
) -> Message:
    """A bot or system line in the dialog (a KB answer shown, a rating received); not delivered.
    `line` names a fixed line the panel shows in the operator's language (`body` is its English text,
    for search and for readers that do not know the line); `params` fill it in."""
    meta: dict[str, Any] = {"line": line, "params": params} if line else {}
    message = Message(ticket_id=ticket.id, author_kind=author_kind, body=body, meta=meta)
    session.add(message)
    await session.flush()
    await session.refresh(message)
    events.publish(session, "message.created", message_payload(message), ticket_id=ticket.id)
    return message


async def add_note(session: AsyncSession, *, ticket_id: int, operator: Operator, body: str) -> Note:
    body = body.strip()
    if not body:
        raise InvalidInput("empty note", field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput("note too long", field="body", max_length=MAX_BODY)
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id=ticket_id)
    note = Note(ticket_id=ticket.id, operator_id=operator.id, body=body)
    session.add(note)
    await session.flush()
    await session.refresh(note)
    events.publish(
        session,
        "note.created",
        {"id": note.id, "ticket_id": ticket.id, "operator_id": operator.id, "body": body,
         "created_at": note.created_at.isoformat()},
        ticket_id=ticket.id,
    )
    return note


async def record_delivery(
    session: AsyncSession, delivery: outbox.Delivery, outcome: str, result: dict[str, Any] | None, error: str | None
) -> None:
    """Outbox outcome hook: the message's delivery state follows its outbox row, and a recipient
    who blocked us is marked so nothing more is queued for them."""
    if delivery.message_id is None:
        return
    message = await session.get(Message, delivery.message_id, with_for_update=True)
    if message is None:
        return
    message.delivery_state = "sent" if outcome == "sent" else "failed"
    message.delivery_error = error
    if result and result.get("external_id") is not None:
        message.external_id = str(result["external_id"])
        if result.get("external_key"):
            message.external_key = str(result["external_key"])
    if outcome == "gone":
        contact_id = delivery.payload.get("contact_id")
        contact = await session.get(Contact, contact_id) if contact_id else None
        if contact is not None and not contact.blocked:
            contact.blocked = True
            contact.blocked_at = func.now()
    await publish_message_update(session, message)
