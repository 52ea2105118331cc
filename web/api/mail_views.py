"""Quarantined mail for admins: what could not become a ticket, why, and the raw mail to inspect."""

from __future__ import annotations

from aiohttp import web

from core.errors import NotFound
from core.mail import quarantine
from web.api import schemas as s
from web.api.registry import ApiRegistry, json_ok, parse_query, path_id
from web.auth import admin
from web.i18n import translate
from web.keys import DB, DESK


async def list_quarantined(request: web.Request) -> web.Response:
    actor = admin(request)
    query = parse_query(request, s.QuarantineQuery)
    rows = await quarantine.list_quarantined(request[DB], actor.operator, limit=query.limit, before_id=query.before)
    for row in rows:  # the reason in the admin's language
        row["reason_text"] = translate(request, quarantine.REASONS.get(row["reason"], quarantine.REASONS["error"]))
    next_before = rows[-1]["id"] if len(rows) == query.limit else None
    return json_ok({"items": rows, "next_before": next_before})


async def download_raw(request: web.Request) -> web.StreamResponse:
    actor = admin(request)
    row = await quarantine.quarantined_raw(request[DB], actor.operator, path_id(request))
    path = request.app[DESK].storage.path(row.raw_storage_key or "")
    if not path.exists():
        raise NotFound("quarantined mail file")
    return web.FileResponse(path, headers={
        "Content-Type": "application/octet-stream",  # never rendered by the browser
        "Content-Disposition": f"attachment; filename=quarantine-{row.id}.eml",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/mail/quarantine", list_quarantined, "Mail that could not become a ticket, newest first",
            access="admin", query=s.QuarantineQuery)
    api.add("GET", "/api/mail/quarantine/{id}/raw", download_raw, "The quarantined mail as received (.eml)",
            access="admin")
