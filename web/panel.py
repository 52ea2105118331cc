"""Wires the panel into the app: middlewares, API routes, WebSocket hub, templates, static files."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from core.context import Desk
from web import orders_api, pages
from web.api import (
    admin_views,
    auth_views,
    channel_views,
    contact_views,
    dead_letter_views,
    kb_views,
    live_views,
    mail_views,
    sla_views,
    staffgroup_views,
    store_views,
    ticket_views,
    widget_views,
)
from web.api.registry import ApiRegistry
from web.auth import authenticate
from web.config import PanelConfig
from web.errors import api_errors, page_outage
from web.input_guard import guard_input
from web.keys import HUB, PANEL
from web.security import security_headers
from web.ws import keeper
from web.ws.endpoint import websocket
from web.ws.hub import Hub

STATIC = Path(__file__).resolve().parent / "static"


def api_registry() -> ApiRegistry:
    api = ApiRegistry()
    for module in (auth_views, ticket_views, channel_views, contact_views, admin_views, kb_views, live_views,
                   store_views, sla_views, mail_views, dead_letter_views, widget_views, staffgroup_views, orders_api):
        module.register(api)
    return api


def setup_panel(app: web.Application, desk: Desk, config: PanelConfig | None = None) -> None:
    config = config or PanelConfig.from_settings(desk.settings)
    app[PANEL] = config
    hub = Hub(queue_limit=config.ws_queue_limit, metrics=desk.metrics)
    app[HUB] = hub
    desk.stream.subscribe(hub.on_events)
    app.middlewares.extend([security_headers, page_outage, api_errors, guard_input, authenticate])
    api = api_registry()
    app[live_views.API] = api
    api.install(app)
    app.router.add_get("/ws", websocket)
    app.router.add_static("/static/", STATIC, append_version=True)
    pages.setup(app)
    app.cleanup_ctx.append(_keeper(hub, desk, config))


def _keeper(hub: Hub, desk: Desk, config: PanelConfig):  # type: ignore[no-untyped-def]
    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(keeper.keep(hub, desk.sessions, config))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for connection in list(hub.connections.values()):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001, message=b"server shutdown")
        await hub.settle()

    return context
