"""Administration: operators (invite, disable, reset), queues, API tokens, saved replies."""

from __future__ import annotations

import logging

from aiohttp import web

from core.auth import tokens
from core.errors import NotAllowed
from core.services import accounts, catalog
from core.services.accounts import LINK_LIFETIME
from web.api import schemas as s
from web.api.present import operator_json, queue_json, saved_reply_json, token_json
from web.api.registry import ApiRegistry, json_ok, parse_body, parse_query, path_id
from web.auth import actor_of, admin, staff
from web.keys import DB, DESK, HUB, LANG, PANEL

log = logging.getLogger(__name__)


def _link(request: web.Request, token: str) -> str:
    origin = request.app[DESK].settings.web_public_origin or f"{request.scheme}://{request.host}"
    return f"{origin}/password#{token}"


async def list_operators(request: web.Request) -> web.Response:
    actor = staff(request)
    rows = await accounts.list_operators(request[DB])
    is_admin = actor.operator.role == "admin"
    return json_ok({"items": [operator_json(row, with_email=is_admin) for row in rows]})


async def invite_operator(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.InviteIn)
    operator, token = await accounts.invite_operator(
        request[DB], actor.operator, email=body.email, role=body.role, display_name=body.display_name,
        language=body.language, now=request.app[PANEL].clock(),
    )
    await request[DB].commit()
    log.info("operator invited", extra={"operator": operator.id, "role": operator.role})
    return json_ok({"operator": operator_json(operator), "link": _link(request, token),
                    "expires_in_hours": int(LINK_LIFETIME.total_seconds() // 3600)}, status=201)


async def patch_operator(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.OperatorPatch)
    updated = await accounts.update_operator(request[DB], actor.operator, path_id(request),
                                             now=request.app[PANEL].clock(), **body.model_dump(exclude_unset=True))
    await request[DB].commit()
    if not updated.operator.is_active:
        request.app[HUB].close_operator(updated.operator.id)
    return json_ok({**operator_json(updated.operator), "tickets_returned": updated.returned})


async def reset_operator(request: web.Request) -> web.Response:
    actor = admin(request)
    operator_id = path_id(request)
    token = await accounts.reset_operator(request[DB], actor.operator, operator_id, request.app[PANEL].clock())
    await request[DB].commit()
    request.app[HUB].close_operator(operator_id)
    operator = await accounts.get_operator(request[DB], operator_id)
    return json_ok({"operator": operator_json(operator), "link": _link(request, token),
                    "expires_in_hours": int(LINK_LIFETIME.total_seconds() // 3600)})


async def list_queues(request: web.Request) -> web.Response:
    staff(request)
    return json_ok({"items": [queue_json(q, request[LANG]) for q in await catalog.list_queues(request[DB])]})


async def create_queue(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.QueueIn)
    queue = await catalog.create_queue(request[DB], slug=body.slug, name=body.name, actor_id=actor.operator.id,
                                       name_ru=body.name_ru, assign_on_reply=body.assign_on_reply,
                                       auto_assign=body.auto_assign)
    await request[DB].commit()
    return json_ok(queue_json(queue, request[LANG]), status=201)


async def patch_queue(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.QueuePatch)
    queue = await catalog.update_queue(request[DB], path_id(request), actor_id=actor.operator.id,
                                       **body.model_dump(exclude_unset=True, exclude_none=True))
    await request[DB].commit()
    return json_ok(queue_json(queue, request[LANG]))


async def list_tokens(request: web.Request) -> web.Response:
    actor = actor_of(request)
    query = parse_query(request, s.TokensQuery)
    rows = await tokens.list_tokens(request[DB], actor.operator, everyone=query.all)
    return json_ok({"items": [token_json(row) for row in rows]})


async def create_token(request: web.Request) -> web.Response:
    actor = actor_of(request)
    if actor.web_session is None:  # a token cannot mint tokens: a leaked one stays contained
        raise NotAllowed("tokens are created from a signed-in browser session")
    body = await parse_body(request, s.TokenIn)
    plain, row = await tokens.create_api_token(request[DB], actor.operator, body.name)
    await request[DB].commit()
    return json_ok(token_json(row, plain), status=201)


async def revoke_token(request: web.Request) -> web.Response:
    actor = actor_of(request)
    await tokens.revoke_api_token(request[DB], actor.operator, path_id(request), request.app[PANEL].clock())
    await request[DB].commit()
    return json_ok({"ok": True})


async def list_saved_replies(request: web.Request) -> web.Response:
    staff(request)
    rows = await catalog.list_saved_replies(request[DB])
    return json_ok({"items": [saved_reply_json(row) for row in rows]})


async def create_saved_reply(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.SavedReplyIn)
    reply = await catalog.save_reply(request[DB], actor_id=actor.operator.id, **body.model_dump())
    await request[DB].commit()
    return json_ok(saved_reply_json(reply), status=201)


async def update_saved_reply(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.SavedReplyIn)
    reply = await catalog.save_reply(request[DB], actor_id=actor.operator.id, reply_id=path_id(request),
                                     **body.model_dump())
    await request[DB].commit()
    return json_ok(saved_reply_json(reply))


async def delete_saved_reply(request: web.Request) -> web.Response:
    admin(request)
    await catalog.delete_saved_reply(request[DB], path_id(request))
    await request[DB].commit()
    return json_ok({"ok": True})


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/operators", list_operators, "Operators (e-mails for admins only)")
    api.add("POST", "/api/operators", invite_operator, "Invite an operator; answers a one-time password link",
            access="admin", body=s.InviteIn, response=s.LinkOut, status=201, errors=(409,))
    api.add("PATCH", "/api/operators/{id}", patch_operator, "Disable, enable, rename or change role",
            access="admin", body=s.OperatorPatch, response=s.OperatorUpdatedOut)
    api.add("POST", "/api/operators/{id}/reset", reset_operator, "Sign out everywhere and issue a reset link",
            access="admin", response=s.LinkOut)
    api.add("GET", "/api/queues", list_queues, "Queues")
    api.add("POST", "/api/queues", create_queue, "Create a queue", access="admin", body=s.QueueIn,
            response=s.QueueOut, status=201, errors=(409,))
    api.add("PATCH", "/api/queues/{id}", patch_queue, "Rename or reorder a queue", access="admin",
            body=s.QueuePatch, response=s.QueueOut)
    api.add("GET", "/api/tokens", list_tokens, "Your API tokens (admins: ?all=true for everyone's)", access="any",
            query=s.TokensQuery)
    api.add("POST", "/api/tokens", create_token, "Create a personal API token (shown once)", access="any",
            body=s.TokenIn, response=s.TokenOut, status=201)
    api.add("DELETE", "/api/tokens/{id}", revoke_token, "Revoke an API token", access="any")
    api.add("GET", "/api/saved-replies", list_saved_replies, "Saved replies")
    api.add("POST", "/api/saved-replies", create_saved_reply, "Create a saved reply", access="admin",
            body=s.SavedReplyIn, response=s.SavedReplyOut, status=201, errors=(409,))
    api.add("PUT", "/api/saved-replies/{id}", update_saved_reply, "Replace a saved reply", access="admin",
            body=s.SavedReplyIn, response=s.SavedReplyOut, errors=(409,))
    api.add("DELETE", "/api/saved-replies/{id}", delete_saved_reply, "Delete a saved reply", access="admin")
