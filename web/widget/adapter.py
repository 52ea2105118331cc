"""The website chat as a channel adapter: parse (a visitor's frame, kept raw by the dialogue, into an
`Inbound`), render (core's answers into JSON frames) and deliver (the outbox's `reply` and
`ticket_closed`).

Deliver stores nothing: the operator's message is already in the ticket, and the widget reads the
ticket's messages itself (`history`). It only announces, through the event bus, that the visitor has
something new (`widget.push`, audience `visitor`, which no panel principal sees), so whichever web
process holds the visitor's sockets sends it; an offline visitor gets it from `history` at the next
connect. So a delivery succeeds whether or not the visitor is online, and nothing is lost either way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import events
from core.channels import ChannelAdapter, ChannelSpec, Parsed
from core.dialogue import Answer, closed_notice
from core.i18n import Translator
from core.models import Attachment, Contact, ContactIdentity, Message, Operator, Ticket, TicketRating
from core.outbox import Delivery, PermanentFailure
from core.services.contacts import find_identity, reply_email_of
from core.services.conversations import Inbound, NewAttachment
from core.services.presence import away_reason
from core.services.tickets import read_mark

PUSH = "widget.push"
AUDIENCE = "visitor"
HISTORY_LIMIT = 200
SHOWN_AUTHORS = ("customer", "operator")


def message_key(visitor: str, client_id: str) -> str:
    """The idempotency key of a visitor's message (`message.external_key`)."""
    return f"web:{visitor}:{client_id}"


async def parse(raw: dict[str, Any], language: str) -> Parsed:
    """`raw` is what the socket or the upload kept: {visitor, id, text, files: [stored file]}."""
    files = tuple(
        NewAttachment(file_name=str(f["name"]), content_type=str(f["type"]), size=int(f["size"]),
                      sha256=f.get("sha256"), storage_key=f.get("storage_key"), channel_refs={"web": str(f["key"])})
        for f in raw.get("files") or ()
    )
    kind = "text" if not files else ("photo" if files[0].content_type.startswith("image/") else "document")
    inbound = Inbound(body=str(raw.get("text") or ""), kind=kind,
                      external_key=message_key(str(raw["visitor"]), str(raw["id"])),
                      channel_refs={"web": [str(raw["id"])]}, attachments=files)
    return Parsed(inbound)


def render(answers: list[Answer], language: str = "") -> list[dict[str, Any]]:
    """Answers as frames. Texts stay plain: the widget sets them with textContent."""
    return [answer_frame(answer) for answer in answers]


def answer_frame(answer: Answer, type_: str = "answer") -> dict[str, Any]:
    article = answer.article
    return {
        "type": type_,
        "text": answer.text,
        "buttons": [[{"label": b.label, "action": [b.action.name, *b.action.args]} for b in row]
                    for row in answer.buttons],
        "article": article and {"title": article.title, "body": article.body, "links_heading": article.links_heading,
                                "links": [{"title": link.title, "url": link.url} for link in article.links]},
        "request": answer.request,
        "ack": answer.ack,
        "alert": answer.alert,
    }


@dataclass
class WebChannel:
    """The outbox side (`core.outbox.Channel`)."""

    sessions: async_sessionmaker[AsyncSession]
    name: str = "web"

    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        if delivery.kind not in ("reply", "ticket_closed", "chat_action"):
            raise PermanentFailure(f"the website chat has no kind {delivery.kind}")
        async with self.sessions() as session, session.begin():
            if delivery.kind == "chat_action":  # an operator is typing: core's {address: the visitor id, action}
                ticket_id = None
                address = delivery.payload.get("address", delivery.payload.get("chat_id"))
                contact_id = await session.scalar(select(ContactIdentity.contact_id).where(
                    ContactIdentity.channel == self.name, ContactIdentity.external_id == str(address)))
            else:
                ticket_id = int(delivery.payload["ticket_id"])
                contact_id = await session.scalar(select(Ticket.contact_id).where(Ticket.id == ticket_id))
            if contact_id is None:
                raise PermanentFailure("the visitor is gone")
            events.publish(session, PUSH, {"contact_id": contact_id, "ticket_id": ticket_id, "kind": delivery.kind,
                                           "message_id": delivery.message_id},
                           audience=AUDIENCE, ticket_id=ticket_id)
        return {"external_id": str(delivery.message_id)} if delivery.message_id is not None else {}


def web_adapter(spec: ChannelSpec, sessions: async_sessionmaker[AsyncSession]) -> ChannelAdapter:
    return ChannelAdapter(spec=spec, parse=parse, render=render, deliver=WebChannel(sessions, spec.name))


# -- what the visitor sees of their tickets ----------------------------------------------------------

async def history(session: AsyncSession, contact_id: int, after: int, translator: Translator,
                  language: str) -> list[dict[str, Any]]:
    """The visitor's messages after the last one the widget has (their own and the operators'), then a
    closing notice with the rating buttons for each recently closed ticket not rated yet (the widget
    shows a notice once, by its `key`)."""
    rows = (await session.scalars(
        select(Message).join(Ticket, Ticket.id == Message.ticket_id)
        .where(Ticket.contact_id == contact_id, Ticket.channel == "web", Message.id > after,
               Message.author_kind.in_(SHOWN_AUTHORS))
        .order_by(Message.id).limit(HISTORY_LIMIT)
    )).all()
    files = await _files_of(session, [m.id for m in rows])
    frames = [message_frame(m, files.get(m.id, [])) for m in rows]
    closed = (await session.scalars(
        select(Ticket).outerjoin(TicketRating, TicketRating.ticket_id == Ticket.id)
        .where(Ticket.contact_id == contact_id, Ticket.channel == "web", Ticket.status == "closed",
               TicketRating.ticket_id.is_(None))
        .order_by(Ticket.id.desc()).limit(3)
    )).all()
    for ticket in reversed(closed):
        frame = answer_frame(closed_notice(translator, language, ticket.id), "closed")
        frame.update(ticket_id=ticket.id, key=f"closed:{ticket.id}:{ticket.closed_at and ticket.closed_at.isoformat()}")
        frames.append(frame)
    return frames


async def _files_of(session: AsyncSession, message_ids: list[int]) -> dict[int, list[Attachment]]:
    found: dict[int, list[Attachment]] = {}
    if message_ids:
        for item in (await session.scalars(select(Attachment).where(Attachment.message_id.in_(message_ids))
                                           .order_by(Attachment.id))).all():
            if item.message_id is not None:  # always, by the query: the column is only nullable
                found.setdefault(item.message_id, []).append(item)
    return found


def message_frame(message: Message, files: list[Attachment]) -> dict[str, Any]:
    key = message.external_key or ""
    return {
        "type": "message",
        "id": message.id,
        "ticket_id": message.ticket_id,
        "author": message.author_kind,
        "client_id": key.rsplit(":", 1)[-1] if key.startswith("web:") else None,
        "body": message.body,
        "files": [{"id": f.id, "name": f.file_name, "size": f.size, "type": f.content_type}
                  for f in files if f.storage_key],
        "at": message.created_at.isoformat(),
    }


async def contact_language(session: AsyncSession, contact_id: int) -> str:
    return str(await session.scalar(select(Contact.language).where(Contact.id == contact_id)) or "en")


async def availability(session: AsyncSession, contact_id: int, visitor: str,
                       email_offer: bool) -> dict[str, Any] | None:
    """Whether a human answers the visitor's open web ticket now (operators online and within its
    queue's business hours), and whether the widget offers, and has, an address for replies they miss
    (`email_offer`: mail goes both ways on this desk). None while no ticket is open."""
    row = (await session.execute(
        select(Ticket.id, Ticket.status, Ticket.queue_id)
        .where(Ticket.contact_id == contact_id, Ticket.channel == "web").order_by(Ticket.id.desc()).limit(1)
    )).first()
    if row is None or row.status == "closed":
        return None
    reason = await away_reason(session, row.queue_id)
    identity = await find_identity(session, "web", visitor)
    return {"type": "availability", "ticket_id": row.id, "available": reason is None, "reason": reason,
            "email_offer": email_offer, "reply_email": reply_email_of(identity) if email_offer else None}


async def conversation_state(session: AsyncSession, contact_id: int) -> dict[str, Any]:
    """Where the visitor's conversation stands (their latest web ticket): sent on every (re)connect and
    delivery, so a widget that was offline while the ticket was closed hides its reply box, and one
    that missed an assignment names the operator. `status` is "none" before any ticket."""
    return (await conversation(session, contact_id))[0]


async def conversation(session: AsyncSession,
                       contact_id: int) -> tuple[dict[str, Any], int | None, dict[str, Any] | None]:
    """The `state` frame, the assignee's id (what a `ticket.updated` event names, so the socket knows
    whether an update concerns it) and the `read` frame (None before an operator has read anything)."""
    row = (await session.execute(
        select(Ticket.id, Ticket.status, Operator.display_name, Ticket.assignee_id)
        .outerjoin(Operator, Operator.id == Ticket.assignee_id)
        .where(Ticket.contact_id == contact_id, Ticket.channel == "web").order_by(Ticket.id.desc()).limit(1)
    )).first()
    if row is None:
        return {"type": "state", "status": "none", "ticket_id": None, "assignee": None}, None, None
    ticket_id, status, assignee, assignee_id = row
    state = {"type": "state", "status": "closed" if status == "closed" else "open", "ticket_id": ticket_id,
             "assignee": assignee}
    mark = await read_mark(session, ticket_id)
    read = None if mark is None else {"type": "read", "ticket_id": ticket_id, "message_id": mark}
    return state, assignee_id, read


async def latest_ticket(session: AsyncSession, contact_id: int) -> int | None:
    """The contact's latest web ticket (whose card shows the visit), any status."""
    return await session.scalar(select(Ticket.id).where(Ticket.contact_id == contact_id, Ticket.channel == "web")
                                .order_by(Ticket.id.desc()).limit(1))


async def open_ticket(session: AsyncSession, contact_id: int) -> int | None:
    """The contact's latest web ticket if it is not closed (whose operators hear the visitor typing)."""
    row = (await session.execute(select(Ticket.id, Ticket.status).where(
        Ticket.contact_id == contact_id, Ticket.channel == "web").order_by(Ticket.id.desc()).limit(1))).first()
    return None if row is None or row.status == "closed" else int(row.id)
