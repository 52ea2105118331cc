"""Quarantined mail for admins: what could not become a ticket, why, the raw mail to inspect, and "Try again"."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from core.errors import NotFound
from core.mail import quarantine
from core.mail.retry import Intake, retry_quarantined
from core.mail.runtime import intake_options
from web.api import schemas as s
from web.api.registry import ApiRegistry, json_ok, parse_query, path_id
from web.auth import admin
from web.downloads import send_stored
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
    key = row.raw_storage_key or ""
    await request[DB].close()
    return await send_stored(request, request.app[DESK].storage, key, {
        "Content-Type": "application/octet-stream",  # never rendered by the browser
        "Content-Disposition": f"attachment; filename=quarantine-{row.id}.eml",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }, missing=NotFound("quarantined mail file"))


async def retry(request: web.Request) -> web.Response:
    actor = admin(request)
    desk = request.app[DESK]
    intake = Intake(desk.storage, desk.translator, partial(intake_options, desk.settings))
    outcome = await retry_quarantined(request[DB], actor.operator, path_id(request), intake)
    await request[DB].commit()
    reason_text = translate(request, quarantine.REASONS.get(outcome.reason, quarantine.REASONS["error"]))
    return json_ok({"id": outcome.quarantine_id, "resolved": outcome.resolved, "outcome": outcome.outcome,
                    "ticket_id": outcome.ticket_id, "message_id": outcome.message_id, "reason": outcome.reason,
                    "reason_text": reason_text if outcome.reason else "", "detail": outcome.detail})


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/mail/quarantine", list_quarantined, "Mail that could not become a ticket, newest first",
            access="admin", query=s.QuarantineQuery)
    api.add("GET", "/api/mail/quarantine/{id}/raw", download_raw, "The quarantined mail as received (.eml)",
            access="admin")
    api.add("POST", "/api/mail/quarantine/{id}/retry", retry, "Run intake again on a quarantined mail: it becomes "
            "a ticket message (the row is marked resolved) or stays quarantined with the new reason",
            access="admin", response=s.RetryOut, errors=(409,))
