"""Server-rendered pages: a shell per screen; the ES module fills and updates them through the API
and the socket. Every text goes through autoescaping; data for the script rides in JSON blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from core import formatting
from core.auth.permissions import is_staff, visible_ticket
from core.domain import LANGUAGES, PRIORITIES, TICKET_STATUSES
from core.errors import NotFound
from core.events import last_event_id
from core.i18n import N_
from core.models.tickets import queue_display_name
from core.orders import stores
from core.orders.statuses import ACTION_LABELS, KIND_LABELS, NEEDS_REASON, OPEN_STATUSES, STATUS_LABELS
from core.services import catalog, inbox
from core.services.dashboard import dashboard
from web.auth import Actor
from web.charts import bar_chart, ratio_ring
from web.input_guard import parse_id
from web.keys import ACTOR, DB, DESK, LANG, PANEL

TEMPLATES = Path(__file__).resolve().parent / "templates"
LABELS = {
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "waiting_customer": N_("Waiting for customer"),
    "closed": N_("Closed"),
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
    "telegram": N_("Telegram"),
    "email": N_("E-mail"),
    "web": N_("Web"),
    "admin": N_("Administrator"),
    "operator": N_("Operator"),
    "partner": N_("Partner"),
}
ADMIN_SECTIONS = ("operators", "queues", "tokens", "ws", "replies", "stores", "sites", "sla", "mail", "dead-letters",
                  "staff-group")


def _translations(request: web.Request) -> dict[str, Any]:
    desk = request.app[DESK]
    language = request[LANG]

    def gettext(message: str, **params: object) -> str:
        return desk.translator.gettext(language, message, **params)

    def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
        return desk.translator.ngettext(language, singular, plural, n, **params)

    def label(value: str) -> str:
        return gettext(LABELS[value]) if value in LABELS else value

    def queue_name(queue: dict[str, Any]) -> str:
        return queue_display_name(queue["name"], queue.get("name_ru"), language)

    labels = _translated(request, LABELS)
    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "label": label, "labels": labels,
            "lang": language, "queue_name": queue_name, "units": formatting.duration_units(language),
            "duration": lambda seconds: formatting.duration(seconds, language),
            "number": lambda value, digits=1: formatting.number(value, language, digits=digits)}


def _translated(request: web.Request, labels: dict[str, str]) -> dict[str, str]:
    """A table of marked texts (statuses, kinds) in the request's language."""
    translator, language = request.app[DESK].translator, request[LANG]
    return {key: translator.gettext(language, text) for key, text in labels.items()}


def _signed_in(request: web.Request, *, staff_only: bool = True, admin_only: bool = False) -> Actor:
    actor = request.get(ACTOR)
    if actor is None:
        raise web.HTTPFound("/login?next=" + request.path_qs[:300])
    if (staff_only and not is_staff(actor.operator)) or (admin_only and actor.operator.role != "admin"):
        raise web.HTTPForbidden(text="forbidden")
    return actor


async def _render(request: web.Request, template: str, page: str, actor: Actor | None,
                  data: dict[str, Any] | None = None, **extra: Any) -> web.Response:
    context: dict[str, Any] = {**_translations(request), "page": page, "actor": actor, "languages": LANGUAGES,
                               "data": data or {}, "sandbox": bool(request.app[DESK].settings.telegram_sandbox),
                               **extra}
    if actor is not None:
        db = request[DB]
        context["last_event_id"] = await last_event_id(db)  # read before the data the script loads
        context["unread_total"] = await inbox.unread_total(db) if is_staff(actor.operator) else 0
        context["csrf_token"] = actor.csrf_token
        context["data"] = {**context["data"], "me": {"id": actor.operator.id, "role": actor.operator.role,
                                                     "language": actor.operator.language,
                                                     "time_zone": actor.operator.time_zone}}
    return aiohttp_jinja2.render_template(template, request, context)


async def index(request: web.Request) -> web.Response:
    actor = _signed_in(request, staff_only=False)
    raise web.HTTPFound("/inbox" if is_staff(actor.operator) else "/orders")


async def sandbox_page(request: web.Request) -> web.Response:
    """The Telegram sandbox's phone view (mounted by web.sandbox only when the sandbox is on)."""
    actor = _signed_in(request)
    start = request.query.get("start", "")[:64]
    return await _render(request, "sandbox.html", "sandbox", actor, data={"start": start})


async def login_page(request: web.Request) -> web.Response:
    return await _render(request, "login.html", "login", None)


async def password_page(request: web.Request) -> web.Response:
    return await _render(request, "password.html", "password", None)


async def _queues(request: web.Request) -> list[dict[str, Any]]:
    return [{"id": q.id, "name": q.name, "name_ru": q.name_ru} for q in await catalog.list_queues(request[DB])]


async def inbox_page(request: web.Request) -> web.Response:
    actor = _signed_in(request)
    queues = await _queues(request)
    return await _render(request, "inbox.html", "inbox", actor, queues=queues, statuses=TICKET_STATUSES,
                         priorities=PRIORITIES, channels=[spec.name for spec in request.app[DESK].channels])


async def ticket_page(request: web.Request) -> web.Response:
    actor = _signed_in(request)
    try:
        if (ticket_id := parse_id(request.match_info["id"])) is None:
            raise NotFound("ticket")
        ticket = await visible_ticket(request[DB], actor.operator, ticket_id)
    except NotFound as exc:
        raise web.HTTPNotFound(text="not found") from exc
    replies = [{"shortcut": r.shortcut, "title": r.title, "body": r.body, "language": r.language}
               for r in await catalog.list_saved_replies(request[DB])]
    limits = {"max_bytes": request.app[DESK].storage.max_bytes, "max_files": request.app[PANEL].max_files_per_message}
    data = {"ticket_id": ticket.id, "saved_replies": replies, "limits": limits}
    return await _render(request, "ticket.html", "ticket", actor, data, ticket_id=ticket.id,
                         queues=await _queues(request), statuses=TICKET_STATUSES, priorities=PRIORITIES)


async def dashboard_page(request: web.Request) -> web.Response:
    actor = _signed_in(request)
    days = {"30": 30, "365": 365}.get(request.query.get("days", ""), 7)
    figures = await dashboard(request[DB], days, request.app[PANEL].clock(), request[LANG])
    return await _render(request, "dashboard.html", "dashboard", actor, figures=figures, days=days,
                         bar_chart=bar_chart, ratio_ring=ratio_ring, order_labels=_translated(request, STATUS_LABELS))


async def orders_page(request: web.Request) -> web.Response:
    """The live orders board: staff see every store, a partner its own stores."""
    actor = _signed_in(request, staff_only=False)
    store_rows = await stores.all_stores(request[DB], actor.store_scope)
    data = {
        "columns": list(OPEN_STATUSES),
        "status_labels": _translated(request, STATUS_LABELS),
        "action_labels": _translated(request, ACTION_LABELS),
        "kind_labels": _translated(request, KIND_LABELS),
        "needs_reason": sorted(NEEDS_REASON),
        "stores": {store.id: store.name for store in store_rows},
        "store_zones": {store.id: store.time_zone for store in store_rows},
    }
    return await _render(request, "orders.html", "orders", actor, data, columns=OPEN_STATUSES,
                         order_labels=data["status_labels"], stores=store_rows)


async def kb_page(request: web.Request) -> web.Response:
    actor = _signed_in(request)
    return await _render(request, "kb.html", "kb", actor)


async def admin_page(request: web.Request) -> web.Response:
    section = request.match_info["section"]
    if section not in ADMIN_SECTIONS:
        raise web.HTTPNotFound(text="not found")
    actor = _signed_in(request, admin_only=section not in ("tokens", "staff-group"),
                       staff_only=section == "staff-group")
    return await _render(request, f"admin/{section}.html", f"admin-{section}", actor)


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                               undefined=jinja2.StrictUndefined)
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    app.router.add_get("/", index)
    app.router.add_get("/login", login_page)
    app.router.add_get("/password", password_page)
    app.router.add_get("/inbox", inbox_page)
    app.router.add_get("/tickets/{id}", ticket_page)
    app.router.add_get("/dashboard", dashboard_page)
    app.router.add_get("/kb", kb_page)
    app.router.add_get("/orders", orders_page)
    app.router.add_get("/admin/{section}", admin_page)
