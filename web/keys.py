from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import Desk
from web.config import PanelConfig

if TYPE_CHECKING:
    from web.auth import Actor
    from web.ws.hub import Hub

DESK = web.AppKey("desk", Desk)
PANEL = web.AppKey("panel", PanelConfig)
HUB: web.AppKey[Hub] = web.AppKey("hub")
# Per request: the one database session, and who is asking (None: nobody signed in).
DB = web.RequestKey("db", AsyncSession)
ACTOR: web.RequestKey[Actor | None] = web.RequestKey("actor")
LANG = web.RequestKey("lang", str)
