from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import events, payloads
from core.domain import PRIORITIES, TICKET_STATUSES, ticket_transition_allowed
from core.errors import InvalidInput, NotFound, TransitionNotAllowed
from core.models import Message, Queue, Ticket
from core.services import audit, closing
from core.sla import hooks as sla
from core.staffgroup import topics as staff_topics

TICKET_FIELDS = (
    *map(payloads.column, ("id", "subject", "status", "priority", "channel", "queue_id", "contact_id", "assignee_id",
                           "unread_count")),
    *map(payloads.moment, ("frt_due_at", "ttr_due_at", "first_response_at", "sla_paused_at", "created_at",
                           "updated_at")),
)


def ticket_payload(ticket: Ticket) -> dict[str, object]:
    """`ticket.*` events' data (`TICKET_FIELDS`; a statement renders the same with `payloads.as_jsonb`)."""
    return payloads.as_dict(TICKET_FIELDS, ticket)


async def get_ticket_for_update(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None:
        raise NotFound("ticket", ticket_id=ticket_id)
    return ticket


async def change_status(
    session: AsyncSession, ticket_id: int, new_status: str, *, actor_kind: str, actor_id: int | None
) -> Ticket:
    """Move a ticket through the transition table; publishes ticket.updated on commit."""
    if new_status not in TICKET_STATUSES:
        raise InvalidInput("status", field="status")
    ticket = await get_ticket_for_update(session, ticket_id)
    old = ticket.status
    # A ticket left waiting with its clock running (a customer's message before customer_returned
    # existed) is set again for real, so the PATCH that says "waiting" pauses the clock.
    stale_wait = new_status == "waiting_customer" and ticket.sla_paused_at is None
    if old == new_status and not stale_wait:
        return ticket
    if old != new_status and not ticket_transition_allowed(old, new_status):
        raise TransitionNotAllowed(f"{old} -> {new_status}", current=old, requested=new_status)
    ticket.status = new_status
    ticket.updated_at = func.now()
    ticket.closed_at = func.now() if new_status == "closed" else None
    await sla.ticket_changed(session, ticket, {"status"})
    await session.flush()
    await session.refresh(ticket)
    await closing.status_changed(session, ticket, old, new_status)
    audit.record(
        session,
        actor_kind=actor_kind,
        actor_id=actor_id,
        action="ticket.status",
        object_type="ticket",
        object_id=ticket.id,
        old=old,
        new=new_status,
    )
    events.publish(session, "ticket.updated", ticket_payload(ticket), ticket_id=ticket.id)
    return ticket


async def customer_returned(session: AsyncSession, ticket: Ticket) -> None:
    """The customer answered a ticket that waited for them: it is the operators' turn again, so it
    goes back to `in_progress` when someone owns it, else to `open`, and its resolution clock resumes.
    The caller publishes `ticket.updated` (the customer's message changes the ticket anyway)."""
    await session.refresh(ticket, with_for_update=True)
    if ticket.status != "waiting_customer":
        return
    new_status = "in_progress" if ticket.assignee_id is not None else "open"
    ticket.status = new_status
    await sla.ticket_changed(session, ticket, {"status"})
    audit.record(session, actor_kind="contact", actor_id=ticket.contact_id, action="ticket.status",
                 object_type="ticket", object_id=ticket.id, old="waiting_customer", new=new_status)


async def change_priority(
    session: AsyncSession, ticket_id: int, priority: str, *, actor_kind: str, actor_id: int | None
) -> Ticket:
    """Set a ticket's priority; its SLA deadlines are recomputed. Publishes ticket.updated on commit."""
    if priority not in PRIORITIES:
        raise InvalidInput("priority", field="priority")
    ticket = await get_ticket_for_update(session, ticket_id)
    old = ticket.priority
    if old == priority:
        return ticket
    ticket.priority = priority
    await _changed(session, ticket, "priority", old, priority, actor_kind=actor_kind, actor_id=actor_id)
    return ticket


async def change_queue(
    session: AsyncSession, ticket_id: int, queue_id: int, *, actor_kind: str, actor_id: int | None
) -> Ticket:
    """Move a ticket to another queue (whose business hours then count). Publishes ticket.updated."""
    if await session.get(Queue, queue_id) is None:
        raise NotFound("queue", queue_id=queue_id)
    ticket = await get_ticket_for_update(session, ticket_id)
    old = ticket.queue_id
    if old == queue_id:
        return ticket
    ticket.queue_id = queue_id
    await _changed(session, ticket, "queue_id", old, queue_id, actor_kind=actor_kind, actor_id=actor_id)
    return ticket


async def _changed(
    session: AsyncSession, ticket: Ticket, field: str, old: object, new: object, *, actor_kind: str,
    actor_id: int | None, **extra: object,
) -> None:
    ticket.updated_at = func.now()
    await sla.ticket_changed(session, ticket, {field})
    await session.flush()
    await session.refresh(ticket)
    audit.record(session, actor_kind=actor_kind, actor_id=actor_id, action=f"ticket.{field}",
                 object_type="ticket", object_id=ticket.id, old=old, new=new, **extra)
    events.publish(session, "ticket.updated", ticket_payload(ticket), ticket_id=ticket.id)
    await staff_topics.card_changed(session, ticket, field)


async def assign(
    session: AsyncSession, ticket_id: int, assignee_id: int | None, *, actor_kind: str, actor_id: int | None,
    via: str = "panel",
) -> Ticket:
    """Give the ticket to an active operator or admin (None: unassign). Audited as `ticket.assignee_id`
    (with `via`: "panel", "reply" for the assignment on first reply, "auto" for `core.services.autoassign`)
    and published as `ticket.assigned` {ticket_id, assignee_id, previous_id, actor_id, via} beside ticket.updated."""
    from core.models import Operator

    if assignee_id is not None:
        assignee = await session.get(Operator, assignee_id)
        if assignee is None or not assignee.is_active or assignee.role not in ("admin", "operator"):
            raise InvalidInput("no such operator", field="assignee_id")
    ticket = await get_ticket_for_update(session, ticket_id)
    old = ticket.assignee_id
    if old == assignee_id:
        return ticket
    ticket.assignee_id = assignee_id
    await _changed(session, ticket, "assignee_id", old, assignee_id, actor_kind=actor_kind, actor_id=actor_id,
                   via=via)
    events.publish(session, "ticket.assigned", {"ticket_id": ticket.id, "assignee_id": assignee_id,
                                                "previous_id": old, "actor_id": actor_id, "via": via},
                   ticket_id=ticket.id)
    return ticket


HISTORY_ACTIONS = ("ticket.assignee_id", "ticket.status", "ticket.priority", "ticket.queue_id")


async def history(session: AsyncSession, ticket_id: int, *, limit: int = 200) -> list[dict[str, object]]:
    """What happened to the ticket (assignments, status, priority and queue changes), oldest first, with
    the names of the operators involved; read from the audit log (ix_audit_log_object)."""
    from core.models import AuditLog, Operator

    rows = list(await session.scalars(
        select(AuditLog)
        .where(AuditLog.object_type == "ticket", AuditLog.object_id == ticket_id,
               AuditLog.action.in_(HISTORY_ACTIONS))
        .order_by(AuditLog.id.desc())
        .limit(limit)
    ))
    rows.reverse()
    people: set[int] = set()
    for row in rows:
        if row.actor_kind == "operator" and row.actor_id is not None:
            people.add(int(row.actor_id))
        if row.action == "ticket.assignee_id":
            people.update(int(v) for v in (row.data.get("old"), row.data.get("new")) if isinstance(v, int))
    names: dict[object, str] = dict((await session.execute(
        select(Operator.id, Operator.display_name).where(Operator.id.in_(people))
    )).all()) if people else {}
    return [
        {"id": row.id, "action": row.action.removeprefix("ticket."), "actor_kind": row.actor_kind,
         "actor_id": row.actor_id, "actor_name": names.get(row.actor_id) if row.actor_kind == "operator" else None,
         "old": row.data.get("old"), "new": row.data.get("new"), "via": row.data.get("via"),
         "old_name": names.get(row.data.get("old")) if row.action == "ticket.assignee_id" else None,
         "new_name": names.get(row.data.get("new")) if row.action == "ticket.assignee_id" else None,
         "created_at": row.created_at.isoformat()}
        for row in rows
    ]


READ_AT = "read_at"  # message.meta key: an operator has read the customer's messages up to this one
READ_EVENT = "messages.read"  # not "ticket.*": the panel's lists reload on those, and this says nothing to them


async def mark_read(session: AsyncSession, ticket_id: int) -> Ticket:
    """An operator opened the dialog: its unread counter goes to zero for everyone, and the customer's
    messages up to now count as read (the website chat shows "Seen")."""
    ticket = await get_ticket_for_update(session, ticket_id)
    if ticket.unread_count:
        ticket.unread_count = 0
        await session.flush()
        await session.refresh(ticket)
        events.publish(session, "ticket.updated", ticket_payload(ticket), ticket_id=ticket.id)
    await _read_up_to_now(session, ticket)
    return ticket


async def read_mark(session: AsyncSession, ticket_id: int) -> int | None:
    """The highest id of the ticket's customer messages an operator has read (None: none yet)."""
    found = await session.scalar(select(func.max(Message.id)).where(
        Message.ticket_id == ticket_id, Message.author_kind == "customer", Message.meta.has_key(READ_AT)))
    return int(found) if found is not None else None


async def _read_up_to_now(session: AsyncSession, ticket: Ticket) -> None:
    """Mark the newest customer message read (`meta.read_at`; the ticket's mark is the highest marked id,
    so one row is written however many were unread, and no migration was needed). The ticket's row is
    locked by the caller, so two operators opening it at once mark it once. `messages.read` is published
    only when the mark moved: the visitor's widget hears it (`web/widget/endpoint.py`)."""
    newest = await session.scalar(select(func.max(Message.id)).where(
        Message.ticket_id == ticket.id, Message.author_kind == "customer"))
    if newest is None or newest <= (await read_mark(session, ticket.id) or 0):
        return
    message = await session.get(Message, int(newest))
    assert message is not None
    message.meta = {**(message.meta or {}), READ_AT: datetime.now(UTC).isoformat(timespec="seconds")}
    await session.flush()
    events.publish(session, READ_EVENT, {"ticket_id": ticket.id, "contact_id": ticket.contact_id,
                                         "channel": ticket.channel, "message_id": int(newest)}, ticket_id=ticket.id)
