"""The dialog use cases shared by every front: open a ticket, a customer writes, an operator replies,
an operator notes. Each writes its rows, publishes its events and queues its deliveries in the
caller's transaction; the caller commits once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    Table,
    bindparam,
    column,
    func,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import events, outbox, payloads, preloaded
from core.channels import channels_of
from core.errors import InvalidInput, NotFound, TicketClosed
from core.models import Attachment, Contact, ContactIdentity, Message, Note, Operator, Queue, Ticket
from core.services import alerts, autoassign, email_copies, flood
from core.services import tickets as ticket_service
from core.services.channel_refs import add_message_refs
from core.services.contacts import block_delivery_recipient
from core.services.presence import ONLINE_WITHIN, offline_alert_recipients_exist
from core.sla import hooks as sla
from core.staffgroup import topics as staff_topics

MAX_BODY = 20_000


@dataclass(frozen=True)
class NewAttachment:
    """A file already saved in the attachment store (or a note why it could not be)."""

    file_name: str
    content_type: str
    size: int
    sha256: str | None = None
    storage_key: str | None = None
    channel_refs: dict[str, str] = field(default_factory=dict)  # what the channel it came from calls it
    problem: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A customer message as a channel parsed it."""

    body: str
    kind: str = "text"
    external_key: str | None = None
    channel_refs: dict[str, list[str]] = field(default_factory=dict)  # the channel's ids (`channel_refs.refs_of`)
    reply_to_external_key: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[NewAttachment, ...] = ()


MESSAGE_FIELDS = (
    *map(payloads.column, ("id", "ticket_id", "author_kind", "operator_id", "body", "kind", "meta", "reply_to_id",
                           "delivery_state", "delivery_error")),
    *map(payloads.moment, ("edited_at", "created_at")),
)
ATTACHMENT_FIELDS = (
    *map(payloads.column, ("id", "file_name", "content_type", "size")),
    payloads.Field("available", lambda attachment: attachment.storage_key is not None,
                   lambda columns: columns["storage_key"].is_not(None)),
    payloads.column("problem"),
)


def message_payload(message: Message, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    """`message.*` events' data (`MESSAGE_FIELDS`, `ATTACHMENT_FIELDS`; `customer_wrote`'s statement
    renders the same in SQL)."""
    return {**payloads.as_dict(MESSAGE_FIELDS, message),
            "attachments": [attachment_payload(a) for a in attachments or []]}


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    return payloads.as_dict(ATTACHMENT_FIELDS, attachment)


async def queue_by_slug(session: AsyncSession, slug: str) -> Queue:
    queue = await session.scalar(select(Queue).where(Queue.slug == slug))
    if queue is None:
        raise NotFound("queue", slug=slug)
    return queue


# The statements of a customer's message are built once: they run for every inbound message, and
# building and keying a statement costs about as much CPU as running it.


def _live(contact_id: Any, channel: Any) -> Any:
    """The contact's live (not closed) tickets on the channel: `live_ticket`'s rule, for both its reads."""
    return select(Ticket).where(Ticket.contact_id == contact_id, Ticket.channel == channel, Ticket.status != "closed")


_LIVE_TICKET = _live(bindparam("contact_id"), bindparam("channel"))
_MESSAGE_BY_KEY = select(Message.id).where(Message.external_key == bindparam("key"))
_MESSAGES, _TICKETS = cast(Table, Message.__table__), cast(Table, Ticket.__table__)
_ATTACHMENTS = cast(Table, Attachment.__table__)
_FILE_COLUMNS = ("file_name", "content_type", "size", "sha256", "storage_key", "channel_refs", "problem")


def _customer_message_statement() -> Any:
    """A customer's message in one statement: the message and its files are inserted, the ticket updated
    and the two events handed over (`events.hand_over`), their data built from what the INSERT and the
    UPDATE return (`payloads`). The ticket's UPDATE also answers what the message's side effects ask next:
    the staff-group topic that shows it and whether anybody is to be alerted because nobody has the panel
    open. A message whose external key is stored already inserts nothing, and so does nothing else but
    the flood count, which it makes when asked (`flood.count_upsert`; its contact, else NULL: none)."""
    written = (
        insert(_MESSAGES)
        .values(ticket_id=bindparam("ticket_id"), author_kind="customer", body=bindparam("body"),
                kind=bindparam("kind"), meta=bindparam("meta"), external_key=bindparam("external_key"),
                channel_refs=bindparam("channel_refs"), reply_to_id=bindparam("reply_to_id"),
                # Inside a CTE the model's Python-side defaults are not applied: the table's own.
                delivery_state=literal_column("DEFAULT"), edit_history=literal_column("DEFAULT"))
        .on_conflict_do_nothing(index_elements=["external_key"])
        .returning(*_MESSAGES.c)
        .cte("written")
    )
    files = func.jsonb_to_recordset(bindparam("files", type_=JSONB)).table_valued(
        *(column(name, _ATTACHMENTS.c[name].type) for name in _FILE_COLUMNS),
    ).render_derived(name="files", with_types=True)
    attached = (
        insert(_ATTACHMENTS)
        .from_select(["message_id", *_FILE_COLUMNS],
                     select(written.c.id, *(files.c[name] for name in _FILE_COLUMNS))
                     .select_from(written.join(files, true())))
        .returning(*_ATTACHMENTS.c)
        .cte("attached")
    )
    arrived = (
        update(_TICKETS)
        .where(_TICKETS.c.id == written.c.ticket_id)
        .values(unread_count=_TICKETS.c.unread_count + 1, last_customer_message_at=func.now(),
                updated_at=func.now())
        .returning(*_TICKETS.c, staff_topics.topic_chat_of(_TICKETS.c.id).label("topic_chat"),
                   offline_alert_recipients_exist().label("alert_recipients"))
        .cte("arrived")
    )
    files_payload = select(func.coalesce(
        func.jsonb_agg(aggregate_order_by(payloads.as_jsonb(ATTACHMENT_FIELDS, attached.c), attached.c.id)),
        sql_cast(payloads.constant("[]"), JSONB),
    )).scalar_subquery()
    message_data = payloads.as_jsonb(MESSAGE_FIELDS, written.c).op("||")(
        func.jsonb_build_object(payloads.constant("attachments"), files_payload))
    handed = events.hand_over(
        events.event_row("message.created", message_data, ticket_id=arrived.c.id),
        events.event_row("ticket.updated", payloads.as_jsonb(ticket_service.TICKET_FIELDS, arrived.c),
                         ticket_id=arrived.c.id),
        source=written.join(arrived, true()),
    ).cte("handed")
    rate = flood.count_upsert(bindparam("count_contact_id", type_=BigInteger)).cte("rate")
    # One row even when nothing was stored: the count is read either way.
    one = select(literal_column("1").label("one")).subquery("one")
    both = (select(*written.c, *(arrived.c[c.name] for c in _TICKETS.c), arrived.c.topic_chat,
                   arrived.c.alert_recipients, rate.c.seen, rate.c.warned)
            .select_from(one.outerjoin(written, true()).outerjoin(arrived, true()).outerjoin(rate, true()))
            .add_cte(handed))
    return (select(Message, Ticket, column("topic_chat", BigInteger), column("alert_recipients", Boolean),
                   column("seen", Integer), column("warned", Boolean))
            .from_statement(both))


# Core INSERT/UPDATE ... RETURNING loaded as entities: half the CPU of ORM-enabled DML with RETURNING.
_CUSTOMER_MESSAGE = _customer_message_statement()
_LOAD = {"populate_existing": True}


def _first_identity(contact_id: int, channel: str) -> Any:
    """The contact's first identity on the channel, read inside the ticket's INSERT (no round trip)."""
    return (select(ContactIdentity.id)
            .where(ContactIdentity.contact_id == contact_id, ContactIdentity.channel == channel)
            .order_by(ContactIdentity.id).limit(1).scalar_subquery())


_LIVE_PRELOADED = "desk_live_ticket_preloaded"


def live_ticket_sql(contact_id: Any, channel: Any) -> Any:
    """`live_ticket` as a LATERAL subquery, for a statement that reads it along with the contact."""
    return _live(contact_id, channel).limit(1).lateral("live")


def preload_live_ticket(session: AsyncSession, contact_id: int, channel: str, ticket: Ticket | None) -> None:
    """The live ticket as a statement that did more just read it in this transaction
    (`core.services.updates.take_in`): the next `live_ticket` for them uses it; later ones read again."""
    preloaded.keep(session, _LIVE_PRELOADED, (contact_id, channel), ticket)


async def live_ticket(session: AsyncSession, contact_id: int, channel: str) -> Ticket | None:
    """The contact's live (not closed) ticket on `channel`: on a channel of `live_conversations`, at most one."""
    kept = preloaded.take(session, _LIVE_PRELOADED, (contact_id, channel))
    if kept is not preloaded.NOT_READ:
        return cast(Ticket | None, kept)
    return await session.scalar(_LIVE_TICKET, {"contact_id": contact_id, "channel": channel})


async def open_ticket(
    session: AsyncSession,
    *,
    contact: Contact,
    channel: str,
    queue_slug: str,
    subject: str,
    priority: str = "medium",
    identity: ContactIdentity | None = None,
    queue_id: int | None = None,
    site_id: int | None = None,
) -> tuple[Ticket, bool]:
    """Open a ticket. On a channel of `live_conversations`, an existing live ticket is returned instead
    (created=False): a partial unique index makes this hold even for two processes at once.
    The conversation is with `identity` (the one that wrote), else the contact's identity on the channel.
    `queue_id` (a website's own queue) wins over `queue_slug`; `site_id` is the website it came from."""
    spec = channels_of(session).get(channel)
    if queue_id is None:
        queue_id = (await queue_by_slug(session, queue_slug)).id
    values: dict[str, Any] = {
        "contact_id": contact.id,
        "channel": channel,
        "queue_id": queue_id,
        "site_id": site_id,
        "subject": subject[:512],
        "priority": priority,
        "single_live": spec.live_conversations,
        "identity_id": identity.id if identity is not None else _first_identity(contact.id, channel),
    }
    stmt = insert(Ticket).values(**values)
    if spec.live_conversations:
        # The predicate is literal SQL: with bound parameters PostgreSQL cannot match the partial index
        # once a prepared statement switches to its generic plan (from the 6th run on a connection).
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["contact_id", "channel"], index_where=text("status <> 'closed' AND single_live")
        )
    ticket_id = (await session.execute(stmt.returning(Ticket.id))).scalar_one_or_none()
    if ticket_id is None:
        existing = await live_ticket(session, contact.id, channel)
        assert existing is not None
        return existing, False
    ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    await sla.ticket_opened(session, ticket)
    await session.flush()
    await session.refresh(ticket)
    events.publish(session, "ticket.created", ticket_service.ticket_payload(ticket), ticket_id=ticket.id)
    await staff_topics.ticket_opened(session, ticket)
    await autoassign.ticket_opened(session, ticket)  # a queue that assigns automatically: to the next operator
    return ticket, True


async def _attach(session: AsyncSession, message: Message, files: tuple[NewAttachment, ...]) -> list[Attachment]:
    rows = [Attachment(message_id=message.id, **_file_row(item)) for item in files]
    session.add_all(rows)
    await session.flush()
    return rows


def _file_row(item: NewAttachment) -> dict[str, Any]:
    """A file's columns as stored (cut to the attachment table's limits), for `_attach` and `_CUSTOMER_MESSAGE`."""
    return {"file_name": item.file_name[:255], "content_type": item.content_type[:127], "size": item.size,
            "sha256": item.sha256, "storage_key": item.storage_key, "channel_refs": dict(item.channel_refs),
            "problem": item.problem}


async def customer_wrote(session: AsyncSession, ticket: Ticket, inbound: Inbound, *,
                         count: flood.Count | None = None) -> Message | None:
    """Store a customer message on a ticket. Returns None when its external key was already stored.
    One statement on the common path (`_CUSTOMER_MESSAGE`: the message, its files, the ticket's UPDATE
    and the hand-over of `message.created` and `ticket.updated`). It also answers whether anybody is to
    be alerted because nobody has the panel open (on a channel of `offline_alerts`; only then are the
    recipients read) and which staff-group topic shows the message (`core.staffgroup.topics`).
    The status and SLA hooks run first, so that the ticket's event says what they changed; for a
    message stored already they find nothing to do (its first copy did it). `count`: the statement
    also counts the message against the flood limit (`count.check`, stored or not)."""
    if len(inbound.body) > MAX_BODY:
        raise InvalidInput("message too long", field="body", max_length=MAX_BODY)
    reply_to_id = None
    if inbound.reply_to_external_key:
        reply_to_id = await session.scalar(_MESSAGE_BY_KEY, {"key": inbound.reply_to_external_key})
    if ticket.status == "waiting_customer":
        await ticket_service.customer_returned(session, ticket)
    await sla.customer_wrote(session, ticket)
    await session.flush()  # what the status and SLA hooks changed (rarely anything: a paused clock resumes)
    # The session's own ticket object comes back, its columns refreshed from RETURNING.
    row = (await session.execute(_CUSTOMER_MESSAGE, {
        "ticket_id": ticket.id, "body": inbound.body, "kind": inbound.kind, "meta": inbound.meta,
        "external_key": inbound.external_key, "channel_refs": inbound.channel_refs, "reply_to_id": reply_to_id,
        "files": [_file_row(item) for item in inbound.attachments], "within": ONLINE_WITHIN,
        "earlier": events.earlier_events(session), "count_contact_id": count.contact_id if count else None,
    }, execution_options=_LOAD)).one()
    message, updated, topic_chat, alert_recipients, seen, warned = row
    if count is not None:
        count.check = await flood.counted(session, count.contact_id, count.per_minute, seen, warned)
    if message is None:
        return None
    events.handed_over(session)
    await alerts.alert_offline_operators(session, updated, message, recipients_exist=bool(alert_recipients))
    await staff_topics.message_added(session, message, chat_id=topic_chat)
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
    await staff_topics.message_edited(session, message)
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
    meta: dict[str, Any] | None = None,
) -> Message:
    """An operator's public reply: stored, published, and queued for the ticket's channel.
    `client_key` (a key the panel generates per send) makes a double click send once; `meta` says where
    it was written when not in the panel (a staff group's topic)."""
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
    if ticket.assignee_id is None and operator.role in ("admin", "operator"):
        queue = await session.get(Queue, ticket.queue_id)
        if queue is not None and queue.assign_on_reply:  # the first reply takes the ticket (per queue)
            await ticket_service.assign(session, ticket.id, operator.id, actor_kind="operator",
                                        actor_id=operator.id, via="reply")
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
        meta=dict(meta or {}),
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
    await email_copies.queue_copy(session, ticket, message)
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
    await staff_topics.message_added(session, message)
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


async def add_note(session: AsyncSession, *, ticket_id: int, operator: Operator, body: str,
                   from_topic: bool = False) -> Note:
    """An internal note (never sent to the customer); the ticket's staff-group topic shows it unless it
    was written there (`from_topic`)."""
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
    await staff_topics.note_added(session, note, from_topic=from_topic)
    return note


async def record_delivery(
    session: AsyncSession, delivery: outbox.Delivery, outcome: str, result: dict[str, Any] | None, error: str | None
) -> None:
    """Outbox outcome hook: the message's delivery state follows its outbox row, and the identity of a
    recipient who blocked us is marked so nothing more is queued there."""
    if delivery.message_id is None:
        return
    message = await session.get(Message, delivery.message_id, with_for_update=True)
    if message is None:
        return
    message.delivery_state = "sent" if outcome == "sent" else "failed"
    message.delivery_error = error
    if result and result.get("external_id") is not None:
        # The channel's ids of what it sent (`external_ids` when one message went out as several).
        channel = delivery.channel or await session.scalar(select(Ticket.channel).where(Ticket.id == message.ticket_id))
        add_message_refs(message, str(channel), result.get("external_ids") or [result["external_id"]])
        if result.get("external_key"):
            message.external_key = str(result["external_key"])
    if outcome == "gone":  # the identity the reply went to is blocked, not the contact's others
        payload = {"ticket_id": message.ticket_id, **delivery.payload}
        channel = delivery.channel or await session.scalar(select(Ticket.channel).where(Ticket.id == message.ticket_id))
        await block_delivery_recipient(session, str(channel), payload)
    await publish_message_update(session, message)
