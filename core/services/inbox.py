"""What the operator's inbox reads: filtered, searchable, cursor-paged ticket lists and a ticket's card."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.errors import InvalidInput
from core.mail.channel_spec import NAME as EMAIL
from core.models import Attachment, Contact, ContactIdentity, Message, Note, Operator, Order, Queue, Site, Ticket
from core.models.tickets import queue_display_name
from core.services import ticket_search
from core.services.contacts import identities_of, identity_payload
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
    # A search only: the ticket the text names (`123`, `#123`, an order's number), and how many tickets
    # matched (`matches_capped`: at least that many; each source reads at most ticket_search.CAP rows, and
    # the count stops at ticket_search.SHOWN: "1,000+").
    jump_to: int | None = None
    matches: int | None = None
    matches_capped: bool = False


def encode_cursor(updated_at: datetime, ticket_id: int) -> str:
    return _b64([updated_at.isoformat(), ticket_id])


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _unb64(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput("bad cursor", field="cursor") from exc


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, ticket_id = _unb64(cursor)
        return datetime.fromisoformat(stamp), int(ticket_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("bad cursor", field="cursor") from exc


def _decode_offset(cursor: str | None) -> int:
    """A search's cursor: the position in its ranked (capped) result."""
    if not cursor:
        return 0
    value = _unb64(cursor)
    if not isinstance(value, dict) or not isinstance(value.get("o"), int) or value["o"] < 0:
        raise InvalidInput("bad cursor", field="cursor")
    return int(value["o"])


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
    return query


PREVIEW_CHARS = 160  # of the last message's text, read in SQL: a long mail is not fetched whole for a row


def _last_message() -> Any:
    """The ticket's newest message (LATERAL, one index probe on ix_message_ticket_id_id per row) with its
    first attachment's type: a row's preview costs the page nothing per ticket beyond that probe."""
    first_file = (
        select(Attachment.content_type)
        .where(Attachment.message_id == Message.id)
        .order_by(Attachment.id)
        .limit(1)
        .correlate(Message)
        .scalar_subquery()
    )
    return (
        select(
            Message.id.label("id"),
            Message.author_kind.label("author_kind"),
            Message.operator_id.label("operator_id"),
            func.left(Message.body, PREVIEW_CHARS).label("body"),
            Message.meta["line"].astext.label("line"),
            Message.meta["params"].label("params"),
            Message.created_at.label("created_at"),
            first_file.label("file_type"),
        )
        .where(Message.ticket_id == Ticket.id)
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Ticket)
        .lateral("last_message")
    )


async def list_tickets(
    session: AsyncSession, flt: TicketFilter, *, viewer_id: int, cursor: str | None = None, limit: int = 50,
    language: str = "en",
) -> Page:
    """Newest activity first; the cursor is the (updated_at, id) of the last row shown. One query: each
    row carries its customer, queue (in `language`), assignee and last message (`last_message`).
    With `flt.text`: the search's ranked result instead (`_search`)."""
    if flt.text.strip():
        return await _search(session, flt, viewer_id=viewer_id, cursor=cursor, limit=limit, language=language)
    # The page's ticket ids first (a LIMIT the planner does not look through), then the rows' details and
    # last messages for those ids only: the LATERAL probes the message index once per row shown, never
    # once per ticket that matches the filter. Each filter has its (column, updated_at, id) index.
    page: Any = _filtered(select(Ticket.id), flt, viewer_id)
    if cursor:
        stamp, last_id = decode_cursor(cursor)
        page = page.where(
            or_(Ticket.updated_at < stamp, and_(Ticket.updated_at == stamp, Ticket.id < last_id))
        )
    shown = page.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit + 1).subquery("page")
    rows = await _rows(session, shown, language)
    next_cursor = None
    if len(rows) > limit:
        last_ticket: Ticket = rows[limit - 1][0]
        next_cursor = encode_cursor(last_ticket.updated_at, last_ticket.id)
    return Page([_item(row, language) for row in rows[:limit]], next_cursor)


async def _rows(session: AsyncSession, shown: Any, language: str) -> list[Any]:
    """The tickets of `shown` (a subquery of ids) with their details and last messages, newest first."""
    last = _last_message()
    author = aliased(Operator)
    query: Any = (
        select(Ticket, Contact.name, ContactIdentity.username, Queue.name, Queue.name_ru, Operator.display_name,
               last, author.display_name.label("author_name"))
        .join(shown, shown.c.id == Ticket.id)
        .join(Contact, Contact.id == Ticket.contact_id)
        .outerjoin(ContactIdentity, ContactIdentity.id == Ticket.identity_id)
        .join(Queue, Queue.id == Ticket.queue_id)
        .outerjoin(Operator, Operator.id == Ticket.assignee_id)
        .outerjoin(last, true())
        .outerjoin(author, author.id == last.c.operator_id)
    )
    return list((await session.execute(query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()))).all())


def _item(row: Any, language: str) -> dict[str, Any]:
    item = row_payload(row[0], row[1], row[2], queue_display_name(row[3], row[4], language), row[5])
    item["last_message"] = None if row.id is None else {
        "id": row.id, "author_kind": row.author_kind, "operator_id": row.operator_id,
        "author_name": row.author_name,
        "text": _first_line(row.body), "line": row.line, "params": row.params,
        "file_type": row.file_type, "created_at": row.created_at.isoformat(),
    }
    return item


async def _search(
    session: AsyncSession, flt: TicketFilter, *, viewer_id: int, cursor: str | None, limit: int, language: str,
) -> Page:
    """Best match first (`ticket_search.find`: capped index reads), the view's filters applied to those
    candidates only; a ticket or order number comes first and is `jump_to`. Each row carries `match`:
    where the text was found and the matched line as `[text, marked]` parts (cut for this page only)."""
    query = flt.text.strip()
    offset = _decode_offset(cursor)
    found = await ticket_search.find(session, query)
    hits = {hit.ticket_id: hit for hit in found.hits}
    jump_to = await _named_ticket(session, query)
    order = [hit.ticket_id for hit in found.hits]
    if jump_to is not None:
        order = [jump_to, *(ticket_id for ticket_id in order if ticket_id != jump_to)]
    allowed = set(await session.scalars(_filtered(select(Ticket.id).where(Ticket.id.in_(order)), flt, viewer_id)))
    ranked = [ticket_id for ticket_id in order if ticket_id in allowed]
    chosen = ranked[offset:offset + limit]
    shown = select(Ticket.id).where(Ticket.id.in_(chosen)).subquery("page")
    by_id = {row[0].id: row for row in await _rows(session, shown, language)} if chosen else {}
    lines = await ticket_search.snippets(session, [hits[i] for i in chosen if i in hits], query)
    items = []
    for ticket_id in chosen:
        item = _item(by_id[ticket_id], language)
        hit = hits.get(ticket_id)
        item["match"] = None if hit is None else {
            "source": hit.source, "id": hit.row_id,
            "parts": [[part, marked] for part, marked in lines.get(ticket_id, [])]}
        items.append(item)
    more = offset + limit < len(ranked)
    return Page(items, _b64({"o": offset + limit}) if more else None, jump_to=jump_to,
                matches=min(len(ranked), ticket_search.SHOWN),
                matches_capped=found.capped or len(ranked) > ticket_search.SHOWN)


async def _named_ticket(session: AsyncSession, query: str) -> int | None:
    """The ticket `123`/`#123` names, else the newest ticket of the customer who placed order 123."""
    number = ticket_search.ticket_number(query)
    if number is None or number > 2**63 - 1:
        return None
    if await session.scalar(select(Ticket.id).where(Ticket.id == number)) is not None:
        return number
    contact_id = await session.scalar(select(Order.contact_id).where(Order.id == number))
    if contact_id is None:
        return None
    found = await session.scalar(
        select(Ticket.id).where(Ticket.contact_id == contact_id).order_by(Ticket.id.desc()).limit(1))
    return int(found) if found is not None else None


def _first_line(body: str | None) -> str:
    for line in (body or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


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


async def ticket_card(session: AsyncSession, ticket: Ticket, language: str = "en") -> dict[str, Any]:
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
    identities = await identities_of(session, contact.id)
    conversation = next((i for i in identities if i.id == ticket.identity_id), None)
    payload = row_payload(ticket, contact.name, conversation.username if conversation else None,
                          queue.display_name(language),
                          assignee.display_name if assignee else None)
    # The keys the card showed before identities are filled from them: the @username (only Telegram's
    # identities have one) and the e-mail address.
    username = next((i.username for i in identities if i.username), None)
    email = next((i.external_id for i in identities if i.channel == EMAIL), None)
    site = await session.get(Site, ticket.site_id) if ticket.site_id is not None else None
    payload["site"] = {"id": site.id, "name": site.name} if site is not None else None
    payload["contact"] = {
        "id": contact.id,
        "name": contact.name,
        "telegram_username": username,
        "email": email,
        "identities": [identity_payload(identity) for identity in identities],
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
        # Read from the partial index ix_ticket_unread_live (only tickets with something unread).
        select(func.coalesce(func.sum(Ticket.unread_count), 0)).where(Ticket.status != "closed",
                                                                     Ticket.unread_count > 0)
    ) or 0)
