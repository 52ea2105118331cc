"""Contacts (staff): a contact with its identities, and merging two contacts that are one person."""

from __future__ import annotations

import logging

from aiohttp import web

from core.services import contacts
from web.api import schemas as s
from web.api.registry import ApiRegistry, json_ok, parse_body, path_id
from web.auth import staff
from web.keys import DB

log = logging.getLogger(__name__)


async def get_contact(request: web.Request) -> web.Response:
    staff(request)
    return json_ok(await contacts.get_contact(request[DB], path_id(request)))


async def merge_contact(request: web.Request) -> web.Response:
    actor = staff(request)  # operators and admins; a partner is refused (403)
    keep_id = path_id(request)
    body = await parse_body(request, s.ContactMergeIn)
    merged = await contacts.merge_contacts(request[DB], keep_id, body.other_id, actor.operator)
    await request[DB].commit()
    log.info("contacts merged", extra={"contact": keep_id, "other": body.other_id})
    return json_ok(merged)


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/contacts/{id}", get_contact, "A contact with its identities (staff)",
            response=s.ContactOut)
    api.add("POST", "/api/contacts/{id}/merge", merge_contact,
            "Merge another contact (the same person) into this one: identities, tickets, orders and ratings "
            "move here, the other is deleted. 409 while both have a live ticket on one live channel",
            body=s.ContactMergeIn, response=s.ContactOut, errors=(409,))
