from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.domain import PRIORITIES, TICKET_STATUSES, ticket_transition_allowed
from core.errors import InvalidInput, NotFound, TransitionNotAllowed
from core.models import Queue, Ticket
from core.services import audit, closing
from core.sla import hooks as sla


def ticket_payload(ticket: Ticket) -> dict[str, object]:
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "queue_id": ticket.queue_id,
        "contact_id": ticket.contact_id,
        "assignee_id": ticket.assignee_id,
        "unread_count": ticket.unread_count,
        "frt_due_at": ticket.frt_due_at.isoformat() if ticket.frt_due_at else None,
        "ttr_due_at": ticket.ttr_due_at.isoformat() if ticket.ttr_due_at else None,
        "first_response_at": ticket.first_response_at.isoformat() if ticket.first_response_at else None,
        "sla_paused_at": ticket.sla_paused_at.isoformat() if ticket.sla_paused_at else None,
        "created_at": ticket.created_at.isoformat() if ticket.created_at else None,
        "updated_at": ticket.updated_at.isoformat() if ticket.updated_at else None,
    }


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
    actor_id: int | None,
) -> None:
    ticket.updated_at = func.now()
    await sla.ticket_changed(session, ticket, {field})
    await session.flush()
    await session.refresh(ticket)
    audit.record(session, actor_kind=actor_kind, actor_id=actor_id, action=f"ticket.{field}",
                 object_type="ticket", object_id=ticket.id, old=old, new=new)
    events.publish(session, "ticket.updated", ticket_payload(ticket), ticket_id=ticket.id)


async def assign(
    session: AsyncSession, ticket_id: int, assignee_id: int | None, *, actor_kind: str, actor_id: int | None
) -> Ticket:
    """Give the ticket to an active operator or admin (None: unassign). Publishes ticket.updated."""
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
    await _changed(session, ticket, "assignee_id", old, assignee_id, actor_kind=actor_kind, actor_id=actor_id)
    return ticket


async def mark_read(session: AsyncSession, ticket_id: int) -> Ticket:
    """An operator opened the dialog: its unread counter goes to zero for everyone."""
    ticket = await get_ticket_for_update(session, ticket_id)
    if ticket.unread_count:
        ticket.unread_count = 0
        await session.flush()
        await session.refresh(ticket)
        events.publish(session, "ticket.updated", ticket_payload(ticket), ticket_id=ticket.id)
    return ticket
