"""What the operator's inbox reads: filtered, searchable, cursor-paged ticket lists and a ticket's card."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput
from core.models import Attachment, Contact, Message, Note, Operator, Queue, Ticket
from core.services.conversations import attachment_payload, message_payload


@dataclass(frozen=True)
class TicketFilter:
    """`assignee`: 'mine', 'unassigned', 'any' or an operator id as text."""

    statuses: tuple[str, ...] = ()
    queue_id: int | None = None
    assignee: str = "any"
    channel: str | None = None
    priority: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(updated_at: datetime, ticket_id: int) -> str:
    raw = json.dumps([updated_at.isoformat(), ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, ticket_id = json.loads(raw)
        return datetime.fromisoformat(stamp), int(ticket_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput("bad cursor", field="cursor") from exc


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Any, flt: TicketFilter, viewer_id: int) -> Any:
    if flt.statuses:
        query = query.where(Ticket.status.in_(flt.statuses))
    if flt.queue_id is not None:
        query = query.where(Ticket.queue_id == flt.queue_id)
    if flt.channel:
        query = query.where(Ticket.channel == flt.channel)
    if flt.priority:
        query = query.where(Ticket.priority == flt.priority)
    if flt.assignee == "mine":
        query = query.where(Ticket.assignee_id == viewer_id)
    elif flt.assignee == "unassigned":
        query = query.where(Ticket.assignee_id.is_(None))
    elif flt.assignee.isdigit():
        query = query.where(Ticket.assignee_id == int(flt.assignee))
    text = flt.text.strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        in_messages = exists().where(Message.ticket_id == Ticket.id, Message.body.ilike(pattern))
        query = query.where(or_(Ticket.subject.ilike(pattern), Contact.name.ilike(pattern), in_messages))
    return query


async def list_tickets(
    session: AsyncSession, flt: TicketFilter, *, viewer_id: int, cursor: str | None = None, limit: int = 50
) -> Page:
    """Newest activity first; the cursor is the (updated_at, id) of the last row shown."""
    query: Any = (
        select(Ticket, Contact.name, Contact.telegram_username, Queue.name, Operator.display_name)
        .join(Contact, Contact.id == Ticket.contact_id)
        .join(Queue, Queue.id == Ticket.queue_id)
        .outerjoin(Operator, Operator.id == Ticket.assignee_id)
    )
    query = _filtered(query, flt, viewer_id)
    if cursor:
        stamp, last_id = decode_cursor(cursor)
        query = query.where(
            or_(Ticket.updated_at < stamp, and_(Ticket.updated_at == stamp, Ticket.id < last_id))
        )
    rows = (await session.execute(query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit + 1))).all()
    items = [row_payload(*row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last: Ticket = rows[limit - 1][0]
        next_cursor = encode_cursor(last.updated_at, last.id)
    return Page(items, next_cursor)


def row_payload(
    ticket: Ticket, contact_name: str, username: str | None, queue_name: str, assignee_name: str | None
) -> dict[str, Any]:
    from core.services.tickets import ticket_payload

    return {
        **ticket_payload(ticket),
        "contact_name": contact_name,
        "contact_username": username,
        "queue_name": queue_name,
        "assignee_name": assignee_name,
        "last_customer_message_at": ticket.last_customer_message_at.isoformat()
        if ticket.last_customer_message_at else None,
    }


async def ticket_card(session: AsyncSession, ticket: Ticket) -> dict[str, Any]:
    """The ticket with its customer card: who, language, email, earlier tickets."""
    contact = await session.get(Contact, ticket.contact_id)
    queue = await session.get(Queue, ticket.queue_id)
    assignee = await session.get(Operator, ticket.assignee_id) if ticket.assignee_id else None
    assert contact is not None and queue is not None
    earlier = (
        await session.execute(
            select(Ticket.id, Ticket.subject, Ticket.status, Ticket.created_at)
            .where(Ticket.contact_id == contact.id, Ticket.id != ticket.id)
            .order_by(Ticket.id.desc())
            .limit(20)
        )
    ).all()
    payload = row_payload(ticket, contact.name, contact.telegram_username, queue.name,
                          assignee.display_name if assignee else None)
    payload["contact"] = {
        "id": contact.id,
        "name": contact.name,
        "telegram_username": contact.telegram_username,
        "telegram_user_id": contact.telegram_user_id,
        "email": contact.email,
        "language": contact.language,
        "blocked": contact.blocked,
        "earlier_tickets": [
            {"id": r.id, "subject": r.subject, "status": r.status, "created_at": r.created_at.isoformat()}
            for r in earlier
        ],
    }
    return payload


async def messages_after(session: AsyncSession, ticket_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    messages = list(
        await session.scalars(
            select(Message).where(Message.ticket_id == ticket_id, Message.id > after).order_by(Message.id).limit(limit)
        )
    )
    files = await _attachments(session, [m.id for m in messages], Attachment.message_id)
    return [message_payload(m, files.get(m.id, [])) for m in messages]


async def notes_of(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(Note, Operator.display_name)
            .join(Operator, Operator.id == Note.operator_id)
            .where(Note.ticket_id == ticket_id)
            .order_by(Note.id)
        )
    ).all()
    files = await _attachments(session, [note.id for note, _ in rows], Attachment.note_id)
    return [
        {"id": note.id, "ticket_id": note.ticket_id, "operator_id": note.operator_id, "operator_name": name,
         "body": note.body, "created_at": note.created_at.isoformat(),
         "attachments": [attachment_payload(a) for a in files.get(note.id, [])]}
        for note, name in rows
    ]


async def _attachments(session: AsyncSession, owner_ids: list[int], column: Any) -> dict[int, list[Attachment]]:
    if not owner_ids:
        return {}
    found: dict[int, list[Attachment]] = {}
    for attachment in await session.scalars(select(Attachment).where(column.in_(owner_ids)).order_by(Attachment.id)):
        found.setdefault(getattr(attachment, column.key), []).append(attachment)
    return found


async def attachment_ticket_id(session: AsyncSession, attachment_id: int) -> tuple[Attachment, int] | None:
    """The attachment and the ticket it belongs to (through its message or note)."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        return None
    if attachment.message_id is not None:
        ticket_id = await session.scalar(select(Message.ticket_id).where(Message.id == attachment.message_id))
    else:
        ticket_id = await session.scalar(select(Note.ticket_id).where(Note.id == attachment.note_id))
    return (attachment, int(ticket_id)) if ticket_id is not None else None


async def unread_total(session: AsyncSession) -> int:
    return int(await session.scalar(
        select(func.coalesce(func.sum(Ticket.unread_count), 0)).where(Ticket.status != "closed")
    ) or 0)
