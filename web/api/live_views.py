"""Connection stats, presence, the dashboard figures and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from core import outbox
from core.events import last_event_id
from core.services import dashboard, inbox
from core.services import panel_presence as presence
from web.api import schemas as s
from web.api.registry import ApiRegistry, json_ok, openapi_document, parse_query
from web.auth import admin, staff
from web.keys import DB, DESK, HUB, LANG, PANEL

API = web.AppKey("api_registry", ApiRegistry)


async def ws_stats(request: web.Request) -> web.Response:
    admin(request)
    desk, hub, db = request.app[DESK], request.app[HUB], request[DB]
    sockets = hub.sockets_by_role()
    return json_ok({
        "sockets": sockets,
        "total": sum(sockets.values()),
        "listener_alive": desk.listener.alive,
        "last_event_id": await last_event_id(db),
        "stream_last_id": desk.stream.last_id,
        "outbox": await outbox.backlog(db),
        "online_operators": await presence.online_operators(db),
    })


async def online(request: web.Request) -> web.Response:
    staff(request)
    return json_ok({"items": await presence.online_operators(request[DB]),
                    "unread_total": await inbox.unread_total(request[DB])})


async def dashboard_figures(request: web.Request) -> web.Response:
    staff(request)
    query = parse_query(request, s.DashboardQuery)
    return json_ok(await dashboard.dashboard(request[DB], query.days, request.app[PANEL].clock(), request[LANG]))


async def openapi(request: web.Request) -> web.Response:
    return json_ok(openapi_document(request.app[API]))


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/ws/stats", ws_stats, "Open sockets by role, listener, last event id, outbox backlog",
            access="admin", response=s.WsStatsOut)
    api.add("GET", "/api/presence", online, "Operators online now and the unread total")
    api.add("GET", "/api/dashboard", dashboard_figures, "Tickets, response times, SLA, CSAT, orders",
            query=s.DashboardQuery)
    api.add("GET", "/api/openapi.json", openapi, "This document", access="public")
