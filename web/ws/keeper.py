"""Periodic care of this process's sockets: ping, presence refresh, and closing the sockets of
sessions that were revoked or expired (in any process) since they connected."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import or_, select

from core.models import Operator, WebSession
from core.services import panel_presence as presence
from web.config import PanelConfig
from web.ws.hub import Hub

log = logging.getLogger(__name__)


async def keep(hub: Hub, sessions, config: PanelConfig) -> None:  # type: ignore[no-untyped-def]
    while True:
        await asyncio.sleep(config.ws_heartbeat)
        try:
            await tick(hub, sessions, config)
        except Exception:
            log.exception("websocket keeper pass failed")


async def tick(hub: Hub, sessions, config: PanelConfig) -> None:  # type: ignore[no-untyped-def]
    connections = list(hub.connections.values())
    session_ids = {c.web_session_id for c in connections if c.web_session_id is not None}
    async with sessions() as db:
        await presence.refresh(db, [c.id for c in connections])
        dead: set[int] = set()
        if session_ids:
            rows = await db.scalars(
                select(WebSession.id)
                .join(Operator, Operator.id == WebSession.operator_id)
                .where(WebSession.id.in_(session_ids))
                .where(or_(WebSession.revoked_at.is_not(None), WebSession.expires_at <= config.clock(),
                           Operator.is_active.is_(False)))
            )
            dead = set(rows)
        await db.commit()
    if dead:
        hub.close_sessions(dead)
    await hub.broadcast_frame({"type": "ping"})
