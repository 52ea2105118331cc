from __future__ import annotations

from aiohttp import web

from core.context import Desk
from web import health, orders_api, widget
from web.config import PanelConfig
from web.keys import DESK
from web.panel import setup_panel


def create_app(desk: Desk, panel_config: PanelConfig | None = None) -> web.Application:
    app = web.Application(client_max_size=desk.settings.attachment_max_bytes + 1024 * 1024)
    app[DESK] = desk
    health.setup_routes(app)
    setup_panel(app, desk, panel_config)
    orders_api.setup(app)
    widget.setup(app, desk)
    if desk.settings.telegram_sandbox:  # the built-in Bot API and /sandbox (core.settings.sandboxed)
        from web.sandbox.app import setup as setup_sandbox

        setup_sandbox(app, desk)
    return app
