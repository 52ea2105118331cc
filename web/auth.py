"""Who is asking: the session cookie (browsers) or a personal API token (scripts). One database
session per request, opened here and handed to the view. Mutating cookie requests need the CSRF
token and a same-origin Origin."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from core.auth.permissions import is_staff, principal_for, require_admin, require_staff
from core.auth.sessions import session_by_token
from core.auth.tokens import operator_by_api_token
from core.events import Principal
from core.models import Operator, WebSession
from core.settings import SANDBOX_PATH
from web.errors import ApiError
from web.i18n import request_language
from web.keys import ACTOR, DB, DESK, LANG, PANEL
from web.security import foreign_origin

COOKIE = "desk_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths that need no session (the login itself, password links, health, static files).
PUBLIC = ("/api/auth/login", "/api/auth/password", "/api/openapi.json", "/login", "/password", "/healthz",
          "/metrics", "/static/", "/telegram/")
# The orders API authenticates on its own as well: a store's website sends its store API token,
# which is not an operator token (web.orders_api resolves both).
SELF_AUTHENTICATED = ("/api/orders",)
# The sandbox's Bot API: the desk's own bot calls it, authenticated by its token in the path (as on
# api.telegram.org); no session, no CSRF.
BOT_API = (SANDBOX_PATH + "/bot", SANDBOX_PATH + "/file/bot")


@dataclass(frozen=True)
class Actor:
    operator: Operator
    principal: Principal
    web_session: WebSession | None  # None: authenticated by an API token

    @property
    def store_scope(self) -> frozenset[int] | None:
        """The stores this person may see: None for staff (every store), else a partner's own."""
        return None if is_staff(self.operator) else self.principal.store_ids

    @property
    def csrf_token(self) -> str:
        return self.web_session.csrf_token if self.web_session is not None else ""


def actor_of(request: web.Request) -> Actor:
    actor = request.get(ACTOR)
    if actor is None:
        raise ApiError(401, "unauthorized")
    return actor


def staff(request: web.Request) -> Actor:
    actor = actor_of(request)
    require_staff(actor.operator)
    return actor


def admin(request: web.Request) -> Actor:
    actor = actor_of(request)
    require_admin(actor.operator)
    return actor


async def _resolve(request: web.Request) -> Actor | None:
    db, config = request[DB], request.app[PANEL]
    now = config.clock()
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        operator = await operator_by_api_token(db, header.removeprefix("Bearer ").strip(), now)
        if operator is None:
            if request.path.startswith(SELF_AUTHENTICATED):
                return None
            raise ApiError(401, "unauthorized")
        return Actor(operator, await principal_for(db, operator), None)
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    found = await session_by_token(db, token, now=now, policy=config.sessions)
    if found is None:
        return None
    operator, web_session = found
    return Actor(operator, await principal_for(db, operator), web_session)


def _check_csrf(request: web.Request, actor: Actor | None) -> None:
    if request.method in SAFE_METHODS:
        return
    if foreign_origin(request):
        raise ApiError(403, "origin")
    if actor is None or actor.web_session is None:
        return  # token requests are not sent by browsers on their own; anonymous ones fail later
    sent = request.headers.get("X-CSRF-Token", "")
    if not hmac.compare_digest(sent.encode(), actor.csrf_token.encode()):
        raise ApiError(403, "csrf")


@web.middleware
async def authenticate(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith(("/static/", "/widget/", *BOT_API)) or request.path in ("/ws", "/widget.js"):
        return await handler(request)  # the widget's visitors prove themselves with a signed token
    async with request.app[DESK].sessions() as db:
        request[DB] = db
        actor = await _resolve(request)
        await db.commit()  # a sliding-expiry touch; the view starts a fresh transaction
        request[ACTOR] = actor
        request[LANG] = request_language(request)
        _check_csrf(request, actor)
        if (actor is None and request.path.startswith("/api/")
                and not request.path.startswith(PUBLIC + SELF_AUTHENTICATED)):
            raise ApiError(401, "unauthorized")
        return await handler(request)
