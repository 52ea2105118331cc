"""GET /healthz and GET /metrics (Prometheus text format).

Both report every part of this process as the health board (`core.health.Components`) knows it:
its state word, since when, how often its supervisor restarted it, and its last error.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from core import outbox
from core.events import last_event_id
from core.health import FAILING
from core.models import StaffGroup
from core.staffgroup.links import groups
from web.keys import DESK

STAFF_GROUP = "staff_group"  # its component on the health board
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def _probe_database(request: web.Request) -> None:
    desk = request.app[DESK]
    try:
        async with desk.sessions() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), 3.0)
        desk.components.set("database", "ok")
    except Exception as exc:
        desk.components.set("database", "down", f"{type(exc).__name__}: {exc}"[:300])


async def _probe_staff_groups(request: web.Request) -> list[StaffGroup] | None:
    """A linked staff group where topics cannot be made shows here as its state word (`not_forum`,
    `no_rights`, `removed`): not a failing part for /healthz (tickets go on in the panel), but visible,
    and down (0) in /metrics. Returns every linked group (None: the database did not answer)."""
    desk = request.app[DESK]
    try:
        async with desk.sessions() as session:
            linked = await asyncio.wait_for(groups(session), 3.0)
    except Exception:  # the database probe reports an outage
        return None
    broken = [group for group in linked if group.state != "ok"]
    if broken:
        desk.components.set(STAFF_GROUP, broken[0].state,
                            "; ".join(f"{g.title or g.chat_id}: {g.state}" for g in broken)[:300])
    elif STAFF_GROUP in desk.components:
        desk.components.set(STAFF_GROUP, "ok")
    return linked


def _up(name: str, state: str) -> int:
    """1 while a part works; a staff group in any state but `ok` is down too (its topics get nothing)."""
    return 0 if state in FAILING or (name == STAFF_GROUP and state != "ok") else 1


def _staff_group_lines(linked: list[StaffGroup] | None) -> list[str]:
    if linked is None:
        return []
    return [
        "# HELP desk_staff_group_up Whether topics can be made and written in a linked staff group, by state.",
        "# TYPE desk_staff_group_up gauge",
        *(f'desk_staff_group_up{{group="{g.id}",chat="{g.chat_id}",queue="{g.queue_id or "default"}",'
          f'state="{g.state}"}} {1 if g.state == "ok" else 0}' for g in linked),
    ]


async def healthz(request: web.Request) -> web.Response:
    """200 while every part works; 503 once the database is down, or another part has been failing
    for longer than HEALTH_GRACE_SECONDS (a reconnect in progress is not an outage)."""
    desk = request.app[DESK]
    await _probe_database(request)
    await _probe_staff_groups(request)
    board = desk.components
    failing = board.failing(desk.settings.health_grace_seconds)
    if board["database"] != "ok" and "database" not in failing:
        failing.insert(0, "database")
    status = 503 if failing else 200
    return web.json_response({
        "status": "ok" if status == 200 else "degraded",
        "failing": failing,
        "components": dict(board),
        "details": board.details(),
    }, status=status, headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    linked = await _probe_staff_groups(request)
    try:
        async with desk.sessions() as session:
            backlog = await asyncio.wait_for(outbox.backlog(session), 3.0)
            last_id = await asyncio.wait_for(last_event_id(session), 3.0)
    except Exception:  # still report what this process knows; the scrape shows the database as down
        backlog, last_id = None, None
    board = desk.components
    lines = [
        "# HELP desk_database_up Whether the database answered this scrape.",
        "# TYPE desk_database_up gauge",
        f"desk_database_up {0 if backlog is None else 1}",
        "# HELP desk_events_delivered_total Events this process read from the bus.",
        "# TYPE desk_events_delivered_total counter",
        f"desk_events_delivered_total {desk.stream.delivered}",
        "# HELP desk_events_held_seconds How long committed events have waited behind an older write"
        " transaction (0: none waits).",
        "# TYPE desk_events_held_seconds gauge",
        f"desk_events_held_seconds {desk.stream.held_seconds():.1f}",
        "# HELP desk_websockets_open Open WebSocket connections in this process.",
        "# TYPE desk_websockets_open gauge",
        f"desk_websockets_open {desk.metrics.get('websockets_open', 0)}",
        "# HELP desk_listener_up Whether the LISTEN connection is up.",
        "# TYPE desk_listener_up gauge",
        f"desk_listener_up {1 if desk.listener.alive else 0}",
        "# HELP desk_component_up Whether a part of this process works (1) or fails (0), by its state.",
        "# TYPE desk_component_up gauge",
        *(f'desk_component_up{{component="{name}",state="{board[name]}"}} {_up(name, board[name])}'
          for name in sorted(board)),
        "# HELP desk_component_state_seconds How long a part has been in its current state.",
        "# TYPE desk_component_state_seconds gauge",
        *(f'desk_component_state_seconds{{component="{name}"}} {board.detail(name).seconds():.1f}'
          for name in sorted(board)),
        "# HELP desk_component_restarts_total How often the supervisor restarted a part after a failure.",
        "# TYPE desk_component_restarts_total counter",
        *(f'desk_component_restarts_total{{component="{name}"}} {board.detail(name).restarts}'
          for name in sorted(board)),
    ]
    lines += _staff_group_lines(linked)
    if backlog is not None:
        lines += [
            "# HELP desk_events_published_total The newest deliverable event id: grows with every publish, but"
            " is not a count (ids are xid << 20 + ordinal, core.events).",
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
