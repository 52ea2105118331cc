"""GET /healthz and GET /metrics (Prometheus text format)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from core import outbox
from core.events import last_event_id
from web.keys import DESK

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def healthz(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    try:
        async with desk.sessions() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), 3.0)
        database = "ok"
    except Exception:
        database = "down"
    components = {"database": database, "listener": "ok" if desk.listener.alive else "down", **desk.components}
    status = 200 if database == "ok" else 503
    return web.json_response({"status": "ok" if status == 200 else "degraded", "components": components},
                             status=status)


async def metrics(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    try:
        async with desk.sessions() as session:
            backlog = await asyncio.wait_for(outbox.backlog(session), 3.0)
            last_id = await asyncio.wait_for(last_event_id(session), 3.0)
    except Exception:  # still report what this process knows; the scrape shows the database as down
        backlog, last_id = None, None
    lines = [
        "# HELP desk_database_up Whether the database answered this scrape.",
        "# TYPE desk_database_up gauge",
        f"desk_database_up {0 if backlog is None else 1}",
        "# HELP desk_events_delivered_total Events this process read from the bus.",
        "# TYPE desk_events_delivered_total counter",
        f"desk_events_delivered_total {desk.stream.delivered}",
        "# HELP desk_websockets_open Open WebSocket connections in this process.",
        "# TYPE desk_websockets_open gauge",
        f"desk_websockets_open {desk.metrics.get('websockets_open', 0)}",
        "# HELP desk_listener_up Whether the LISTEN connection is up.",
        "# TYPE desk_listener_up gauge",
        f"desk_listener_up {1 if desk.listener.alive else 0}",
    ]
    if backlog is not None:
        lines += [
            "# HELP desk_events_published_total Events published in the deployment (the newest event id).",
            "# TYPE desk_events_published_total counter",
            f"desk_events_published_total {last_id}",
            "# HELP desk_outbox_rows Outbox rows by state.",
            "# TYPE desk_outbox_rows gauge",
            *(f'desk_outbox_rows{{state="{state}"}} {count}' for state, count in sorted(backlog.items())),
        ]
    return web.Response(text="\n".join(lines) + "\n", headers={"Content-Type": PROMETHEUS_TEXT,
                                                               "X-Content-Type-Options": "nosniff"})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
