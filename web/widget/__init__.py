"""The website chat widget: a channel adapter on the core (`adapter.py`), the visitor's socket, file
upload and download (`endpoint.py`), signed visitor tokens (`tokens.py`) and `web/static/widget.js`.

`attach(desk)` puts the adapter in the desk's registry (the outbox worker needs its `deliver`, the
dialogue its `parse`); `setup(app, desk)` adds the routes to the web app. Both do nothing unless
WIDGET_ENABLED is set."""

from __future__ import annotations

from aiohttp import web

from core.context import Desk
from core.dialogue import Dialogue
from core.intents import load_intents
from web.channel_spec import NAME
from web.widget import endpoint
from web.widget.adapter import web_adapter


def attach(desk: Desk) -> None:
    if not desk.settings.widget_enabled:
        return
    desk.channels.attach(web_adapter(desk.channels.get(NAME), desk.sessions))


def setup(app: web.Application, desk: Desk) -> None:
    if not desk.settings.widget_enabled:
        return
    attach(desk)
    dialogue = Dialogue(desk.translator, load_intents(), desk.settings.customer_rate_per_minute,
                        desk.settings.reopen_window_hours)
    endpoint.setup(app, endpoint.Widget(desk, desk.channels.get(NAME), dialogue))
