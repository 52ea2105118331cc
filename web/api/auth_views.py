"""Sign in and out, the caller's profile and sessions, and password links."""

from __future__ import annotations

from aiohttp import web

from core.auth import sessions as web_sessions
from core.auth.login import attempt_login
from core.services import accounts
from web.api import schemas as s
from web.api.present import operator_json, session_json
from web.api.registry import ApiRegistry, json_ok, parse_body, path_id
from web.auth import COOKIE, actor_of
from web.errors import ApiError
from web.keys import DB, PANEL
from web.security import is_https


def _set_cookie(request: web.Request, response: web.Response, token: str) -> None:
    config = request.app[PANEL]
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", secure=is_https(request), path="/",
                        max_age=int(config.sessions.absolute.total_seconds()))


async def login(request: web.Request) -> web.Response:
    body = await parse_body(request, s.LoginIn)
    db, config = request[DB], request.app[PANEL]
    now = config.clock()
    outcome = await attempt_login(db, body.email, body.password, now=now, policy=config.throttle)
    if outcome.operator is None:
        await db.commit()  # the failure counts even though the answer is a refusal
        assert outcome.error is not None
        raise outcome.error
    opened = await web_sessions.open_session(
        db, outcome.operator, now=now, policy=config.sessions,
        user_agent=request.headers.get("User-Agent", ""), ip=request.remote or "",
    )
    await db.commit()
    response = json_ok({"csrf_token": opened.csrf_token, "operator": operator_json(outcome.operator)})
    _set_cookie(request, response, opened.token)
    return response


async def logout(request: web.Request) -> web.Response:
    actor = actor_of(request)
    if actor.web_session is not None:
        await web_sessions.revoke_session(request[DB], actor.web_session.id, request.app[PANEL].clock())
        await request[DB].commit()
    response = json_ok({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def logout_everywhere(request: web.Request) -> web.Response:
    actor = actor_of(request)
    count = await web_sessions.revoke_all(request[DB], actor.operator.id, request.app[PANEL].clock())
    await request[DB].commit()
    response = json_ok({"ok": True, "revoked": count})
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    actor = actor_of(request)
    return json_ok({**operator_json(actor.operator), "csrf_token": actor.csrf_token,
                    "time_zone": actor.operator.time_zone})


async def update_me(request: web.Request) -> web.Response:
    actor = actor_of(request)
    body = await parse_body(request, s.MePatch)
    operator = actor.operator  # loaded by this request's session
    await accounts.update_profile(request[DB], operator, **body.model_dump(exclude_unset=True))
    await request[DB].commit()
    return json_ok({**operator_json(operator), "csrf_token": actor.csrf_token, "time_zone": operator.time_zone})


async def my_sessions(request: web.Request) -> web.Response:
    actor = actor_of(request)
    rows = await web_sessions.live_sessions(request[DB], actor.operator.id, request.app[PANEL].clock())
    current = actor.web_session.id if actor.web_session else None
    return json_ok({"items": [session_json(row, current) for row in rows]})


async def revoke_my_session(request: web.Request) -> web.Response:
    actor = actor_of(request)
    session_id = path_id(request)
    rows = await web_sessions.live_sessions(request[DB], actor.operator.id, request.app[PANEL].clock())
    if session_id not in {row.id for row in rows}:
        raise ApiError(404, "not_found")
    await web_sessions.revoke_session(request[DB], session_id, request.app[PANEL].clock())
    await request[DB].commit()
    return json_ok({"ok": True})


async def use_password_link(request: web.Request) -> web.Response:
    body = await parse_body(request, s.PasswordLinkIn)
    operator = await accounts.use_account_link(request[DB], body.token, body.password, request.app[PANEL].clock())
    await request[DB].commit()
    return json_ok({"ok": True, "email": operator.email})


def register(api: ApiRegistry) -> None:
    api.add("POST", "/api/auth/login", login, "Sign in; sets the session cookie, answers the CSRF token",
            access="public", body=s.LoginIn, response=s.LoginOut, errors=(401, 429))
    api.add("POST", "/api/auth/logout", logout, "Sign out this session", access="any")
    api.add("POST", "/api/auth/logout-all", logout_everywhere, "Sign out every session of this account",
            access="any")
    api.add("POST", "/api/auth/password", use_password_link, "Choose a password with an invite or reset link",
            access="public", body=s.PasswordLinkIn, errors=(400,))
    api.add("GET", "/api/me", me, "The signed-in account", access="any", response=s.MeOut)
    api.add("PATCH", "/api/me", update_me, "Change language, name or time zone", access="any", body=s.MePatch,
            response=s.MeOut)
    api.add("GET", "/api/me/sessions", my_sessions, "Live sessions of this account", access="any")
    api.add("DELETE", "/api/me/sessions/{id}", revoke_my_session, "Sign out one session", access="any")
