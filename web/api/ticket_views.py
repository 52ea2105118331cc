"""Tickets, their messages and notes, replies with files, delivery retry, attachment downloads."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from core.auth.permissions import visible_ticket
from core.errors import DeskError, NotFound, TooLarge
from core.models import Message
from core.services import conversations, deliveries, inbox
from core.services import panel_presence as presence
from core.services import tickets as ticket_service
from core.services.conversations import NewAttachment
from web.api import schemas as s
from web.api.channel_views import capabilities_json
from web.api.registry import ApiRegistry, json_ok, parse_body, parse_query, path_id, read_at_most
from web.auth import actor_of, staff
from web.downloads import send_stored
from web.errors import ValidationFailed
from web.keys import DB, DESK, LANG, PANEL

log = logging.getLogger(__name__)

# Raster images only: shown inline as previews; anything else is a download.
PREVIEWABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


async def list_tickets(request: web.Request) -> web.Response:
    actor = staff(request)
    query = parse_query(request, s.TicketQuery)
    flt = inbox.TicketFilter(statuses=tuple(query.status), queue_id=query.queue_id, assignee=query.assignee,
                             channel=query.channel, priority=query.priority, text=query.q)
    page = await inbox.list_tickets(request[DB], flt, viewer_id=actor.operator.id, cursor=query.cursor,
                                    limit=query.limit, language=request[LANG])
    body: dict[str, Any] = {"items": page.items, "next_cursor": page.next_cursor}
    if flt.text.strip():
        body |= {"jump_to": page.jump_to, "matches": page.matches, "matches_capped": page.matches_capped}
    return json_ok(body)


async def get_ticket(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    card = await inbox.ticket_card(request[DB], ticket, request[LANG])
    card["viewers"] = await presence.viewers(request[DB], ticket.id)
    card["channel_capabilities"] = capabilities_json(request.app[DESK].channels.get(ticket.channel))
    return json_ok(card)


async def patch_ticket(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    body = await parse_body(request, s.TicketPatch)
    changes = body.model_dump(exclude_unset=True)
    db, by = request[DB], actor.operator.id
    nulls: set[str] = {key for key in ("status", "priority", "queue_id") if key in changes and changes[key] is None}
    if nulls:
        raise ValidationFailed(nulls)
    if "priority" in changes:
        await ticket_service.change_priority(db, ticket.id, changes["priority"], actor_kind="operator", actor_id=by)
    if "queue_id" in changes:
        try:
            await ticket_service.change_queue(db, ticket.id, changes["queue_id"], actor_kind="operator", actor_id=by)
        except NotFound as exc:  # the ticket is visible, so it is the queue that is missing
            raise ValidationFailed({"queue_id"}) from exc
    if "assignee_id" in changes:
        await ticket_service.assign(db, ticket.id, changes["assignee_id"], actor_kind="operator", actor_id=by)
    if changes.get("status") is not None:
        await ticket_service.change_status(db, ticket.id, changes["status"], actor_kind="operator", actor_id=by)
    await db.commit()
    log.info("ticket changed", extra={"ticket": ticket.id, "fields": sorted(changes)})
    return json_ok(await inbox.ticket_card(db, ticket, request[LANG]))


async def bulk_change(request: web.Request) -> web.Response:
    """Assign and/or move the status of many tickets: each in its own savepoint, so a ticket that
    cannot change (closed, not visible) is reported in `failed` and the others still change."""
    actor = staff(request)
    body = await parse_body(request, s.BulkTicketsIn)
    changes = body.model_dump(exclude_unset=True)
    if not {"status", "assignee_id"} & changes.keys() or changes.get("status", "") is None:
        raise ValidationFailed({"status", "assignee_id"})
    db, by = request[DB], actor.operator.id
    changed: list[int] = []
    failed: dict[str, str] = {}
    for ticket_id in dict.fromkeys(body.ids):
        try:
            async with db.begin_nested():
                ticket = await visible_ticket(db, actor.operator, ticket_id)
                if "assignee_id" in changes:
                    await ticket_service.assign(db, ticket.id, changes["assignee_id"], actor_kind="operator",
                                                 actor_id=by)
                if changes.get("status") is not None:
                    await ticket_service.change_status(db, ticket.id, changes["status"], actor_kind="operator",
                                                        actor_id=by)
            changed.append(ticket_id)
        except DeskError as exc:
            failed[str(ticket_id)] = exc.code
    await db.commit()
    log.info("tickets changed in bulk", extra={"changed": len(changed), "failed": len(failed),
                                               "fields": sorted(changes)})
    return json_ok({"changed": changed, "failed": failed})


async def ticket_history(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    return json_ok({"items": await ticket_service.history(request[DB], ticket.id)})


async def mark_read(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    await ticket_service.mark_read(request[DB], ticket.id)
    await request[DB].commit()
    return json_ok({"ok": True})


async def list_messages(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    query = parse_query(request, s.MessagesQuery)
    return json_ok({"items": await inbox.messages_after(request[DB], ticket.id, query.after, query.limit)})


async def list_notes(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    return json_ok({"items": await inbox.notes_of(request[DB], ticket.id)})


async def _read_reply(request: web.Request) -> tuple[s.ReplyIn, tuple[NewAttachment, ...]]:
    if not request.content_type.startswith("multipart/"):
        return await parse_body(request, s.ReplyIn), ()
    desk, config = request.app[DESK], request.app[PANEL]
    fields: dict[str, str] = {}
    files: list[NewAttachment] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        if part.filename is None:
            fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")[:30_000]
            continue
        if len(files) >= config.max_files_per_message:
            raise ValidationFailed({"files"}, code="too_many_files", limit=config.max_files_per_message)
        data = await read_at_most(part, desk.storage.max_bytes)
        if len(data) > desk.storage.max_bytes:
            raise TooLarge("file too large", field="files", limit=desk.storage.max_bytes)
        content_type = part.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        stored = await desk.storage.save(data, part.filename, content_type)
        files.append(NewAttachment(file_name=part.filename, content_type=content_type, size=stored.size,
                                   sha256=stored.sha256, storage_key=stored.storage_key))
    return s.ReplyIn.model_validate(fields), tuple(files)


async def reply(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    body, files = await _read_reply(request)
    message = await conversations.operator_replied(
        request[DB], ticket_id=ticket.id, operator=actor.operator, body=body.body, attachments=files,
        reply_to_id=body.reply_to_id, client_key=body.client_key,
    )
    await request[DB].commit()
    log.info("operator replied", extra={"ticket": ticket.id, "message_id": message.id, "files": len(files)})
    items = await inbox.messages_after(request[DB], ticket.id, message.id - 1, 1)
    return json_ok(items[0], status=201)


async def add_note(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    ticket = await visible_ticket(request[DB], actor.operator, path_id(request))
    body = await parse_body(request, s.NoteIn)
    note = await conversations.add_note(request[DB], ticket_id=ticket.id, operator=actor.operator, body=body.body)
    await request[DB].commit()
    return json_ok({"id": note.id, "ticket_id": note.ticket_id, "operator_id": note.operator_id, "body": note.body,
                    "created_at": note.created_at.isoformat()}, status=201)


async def retry_message(request: web.Request) -> web.Response:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    message_id = path_id(request)
    found = await request[DB].get(Message, message_id)
    if found is None:
        raise NotFound("message")
    await visible_ticket(request[DB], actor.operator, found.ticket_id)
    await deliveries.retry_delivery(request[DB], message_id, actor_id=actor.operator.id)
    await request[DB].commit()
    log.info("delivery retry", extra={"ticket": found.ticket_id, "message_id": message_id})
    return json_ok({"ok": True, "delivery_state": "queued"})


async def download(request: web.Request) -> web.StreamResponse:
    actor = actor_of(request)  # objects: visible_ticket answers 404
    found = await inbox.attachment_ticket_id(request[DB], path_id(request))
    if found is None:
        raise NotFound("attachment")
    attachment, ticket_id = found
    await visible_ticket(request[DB], actor.operator, ticket_id)
    if attachment.storage_key is None:
        raise NotFound("attachment file")
    inline = request.query.get("preview") == "1" and attachment.content_type in PREVIEWABLE
    disposition = "inline" if inline else "attachment"
    content_type = attachment.content_type if inline else "application/octet-stream"
    key = attachment.storage_key
    await request[DB].close()  # the checks are done: a slow download holds no pooled connection
    return await send_stored(request, request.app[DESK].storage, key, {
        "Content-Type": content_type,
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(attachment.file_name)}",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    }, missing=NotFound("attachment file"))


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/tickets", list_tickets, "Tickets, newest activity first", query=s.TicketQuery,
            response=s.TicketPage)
    api.add("GET", "/api/tickets/{id}", get_ticket, "A ticket with its customer card, viewers and channel capabilities",
            response=s.TicketDetailOut)
    api.add("PATCH", "/api/tickets/{id}", patch_ticket, "Change status, priority, queue or assignee",
            body=s.TicketPatch, response=s.TicketOut, errors=(409,))
    api.add("POST", "/api/tickets/bulk", bulk_change, "Assign or change the status of many tickets at once",
            body=s.BulkTicketsIn, response=s.BulkResultOut)
    api.add("GET", "/api/tickets/{id}/history", ticket_history,
            "Assignments and status, priority and queue changes, oldest first", response=s.HistoryList)
    api.add("POST", "/api/tickets/{id}/read", mark_read, "Mark the ticket's messages as read")
    api.add("GET", "/api/tickets/{id}/messages", list_messages, "Messages after an id", query=s.MessagesQuery,
            response=s.MessageList)
    api.add("POST", "/api/tickets/{id}/messages", reply, "Reply to the customer through the ticket's channel",
            body=s.ReplyIn, response=s.MessageOut, status=201, multipart=True, errors=(409, 413, 415))
    api.add("GET", "/api/tickets/{id}/notes", list_notes, "Internal notes")
    api.add("POST", "/api/tickets/{id}/notes", add_note, "Add an internal note", body=s.NoteIn,
            response=s.NoteOut, status=201)
    api.add("POST", "/api/messages/{id}/retry", retry_message, "Send a failed reply again", errors=(409,))
    api.add("GET", "/api/attachments/{id}", download, "Download a file (images inline with ?preview=1)")
