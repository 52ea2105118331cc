"""Orders JSON API: intake from a store's website (its API token + Idempotency-Key) and reading
and moving orders, scoped by who asks (an order outside the caller's scope is a 404)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import normalize_language
from core.errors import DeskError, InvalidInput, NotAllowed, NotFound, TransitionNotAllowed
from core.i18n import N_
from core.orders import queries
from core.orders.actors import Actor, for_operator
from core.orders.errors import AlreadyChanged, IdempotencyMismatch, OrderInvalid
from core.orders.intake import body_digest, intake_order, website_actor
from core.orders.payloads import order_payload
from core.orders.repo import items_of
from core.orders.statuses import STATUS_LABELS
from core.orders.stores import store_for_api_token
from core.orders.transitions import change_status
from core.orders.validation import ERROR_MESSAGES
from web.api import order_schemas as o
from web.api.registry import ApiRegistry
from web.input_guard import parse_id
from web.keys import ACTOR, DESK
from web.order_input import draft_from_json

log = logging.getLogger(__name__)

# request, session -> who asks (None: nobody we know). The panel adds its session/operator resolver.
ActorResolver = Callable[[web.Request, AsyncSession], Awaitable[Actor | None]]
ORDER_ACTORS = web.AppKey("order_actor_resolvers", list)

MESSAGES = {
    "unauthorized": N_("Sign in or send a valid API token."),
    "not_found": N_("There is no such order."),
    "bad_json": N_("The request body must be a JSON object."),
    "order_invalid": N_("Some fields need attention."),
    "transition_not_allowed": N_("This status change is not allowed for the order now."),
    "order_already_changed": N_("The order was already changed by {by}; it is now {status}."),
    "idempotency_mismatch": N_("This Idempotency-Key was already used for a different order."),
    "invalid_input": N_("This value is not accepted."),
    "forbidden": N_("You may not do this."),
}


def _language(request: web.Request) -> str:
    return normalize_language(request.headers.get("Accept-Language", "").split(",")[0].strip())


def _error(request: web.Request, http_status: int, code: str, fields: dict[str, str] | None = None,
           **params: object) -> web.Response:
    translator, language = request.app[DESK].translator, _language(request)
    body: dict[str, Any] = {"error": code, "message": translator.gettext(language, MESSAGES[code], **params)}
    if fields:
        body["fields"] = {
            name: translator.gettext(language, ERROR_MESSAGES.get(problem, MESSAGES["invalid_input"]))
            for name, problem in fields.items()
        }
        body["codes"] = fields
    return web.json_response(body, status=http_status)


def _desk_error(request: web.Request, exc: DeskError) -> web.Response:
    if isinstance(exc, OrderInvalid):
        return _error(request, 422, "order_invalid", exc.errors)
    if isinstance(exc, NotFound):
        return _error(request, 404, "not_found")
    if isinstance(exc, AlreadyChanged):
        label = request.app[DESK].translator.gettext(_language(request), STATUS_LABELS[exc.status])
        return _error(request, 409, "order_already_changed", status=label, by=exc.by or "—")
    if isinstance(exc, TransitionNotAllowed):
        return _error(request, 409, "transition_not_allowed")
    if isinstance(exc, IdempotencyMismatch):
        return _error(request, 409, "idempotency_mismatch")
    if isinstance(exc, NotAllowed):
        return _error(request, 403, "forbidden")
    if isinstance(exc, InvalidInput):
        field = str(exc.params.get("field", "body"))
        return _error(request, 422, "invalid_input", {field: "invalid_input"})
    raise exc


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""


async def store_token_actor(request: web.Request, session: AsyncSession) -> Actor | None:
    """A store's website: its API token scopes it to that store."""
    store = await store_for_api_token(session, _bearer(request))
    return website_actor(store) if store is not None else None


async def panel_actor(request: web.Request, session: AsyncSession) -> Actor | None:
    """A panel user (session cookie or personal API token, resolved by web.auth): staff see every
    order, a partner account the orders of its stores (read once, by web.auth, for the principal)."""
    signed_in = request.get(ACTOR)
    if signed_in is None:
        return None
    return await for_operator(session, signed_in.operator, store_ids=signed_in.principal.store_ids)


async def _actor(request: web.Request, session: AsyncSession) -> Actor | None:
    for resolve in request.app[ORDER_ACTORS]:
        if (actor := await resolve(request, session)) is not None:
            return actor
    return None


async def _json(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def create_order(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    try:
        async with desk.sessions() as session, session.begin():
            store = await store_for_api_token(session, _bearer(request))
            if store is None:
                return _error(request, 401, "unauthorized")
            body = await _json(request)
            if body is None:
                return _error(request, 422, "bad_json", {"body": "bad_type"})
            key = request.headers.get("Idempotency-Key", "").strip()
            if not key:
                return _error(request, 422, "order_invalid", {"Idempotency-Key": "required"})
            order, created = await intake_order(session, desk.translator, store, key, body_digest(body),
                                                draft_from_json(store, body))
            payload = order_payload(order, await items_of(session, order.id))
    except DeskError as exc:  # rolled back, the Idempotency-Key with it: a corrected retry may use it
        return _desk_error(request, exc)
    log.info("order intake", extra={"order": order.id, "store": store.id, "replayed": not created})
    return web.json_response(payload, status=201 if created else 200,
                             headers={} if created else {"Idempotent-Replayed": "true"})


def _int_query(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if (number := parse_id(value)) is None:
        raise InvalidInput(name, field=name)
    return number


async def list_orders(request: web.Request) -> web.Response:
    async with request.app[DESK].sessions() as session:
        actor = await _actor(request, session)
        if actor is None:
            return _error(request, 401, "unauthorized")
        try:
            limit = _int_query(request, "limit") or 50
            orders = await queries.list_orders(
                session, actor, status=request.query.get("status") or None,
                store_id=_int_query(request, "store_id"), before_id=_int_query(request, "before"), limit=limit,
            )
        except DeskError as exc:
            return _desk_error(request, exc)
    next_before = orders[-1]["id"] if len(orders) == min(limit, queries.MAX_PAGE) else None
    return web.json_response({"orders": orders, "next_before": next_before})


async def get_board(request: web.Request) -> web.Response:
    async with request.app[DESK].sessions() as session:
        actor = await _actor(request, session)
        if actor is None:
            return _error(request, 401, "unauthorized")
        board = await queries.board(session, actor)
        return web.json_response({"columns": board.columns, "more": board.more})


def _order_id(request: web.Request) -> int:
    if (value := parse_id(request.match_info["id"])) is None:
        raise NotFound("order")
    return value


async def get_order(request: web.Request) -> web.Response:
    async with request.app[DESK].sessions() as session:
        actor = await _actor(request, session)
        if actor is None:
            return _error(request, 401, "unauthorized")
        try:
            return web.json_response(await queries.order_details(session, actor, _order_id(request)))
        except DeskError as exc:
            return _desk_error(request, exc)


async def patch_order(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    try:
        async with desk.sessions() as session, session.begin():
            actor = await _actor(request, session)
            if actor is None:
                return _error(request, 401, "unauthorized")
            body = await _json(request)
            if body is None or not isinstance(body.get("status"), str) or not isinstance(body.get("reason") or "", str):
                return _error(request, 422, "order_invalid", {"status": "required"})
            expected = body.get("expected")
            order = await change_status(session, desk.translator, order_id=_order_id(request),
                                        new_status=body["status"], actor=actor, reason=body.get("reason"),
                                        expected=expected if isinstance(expected, str) else None)
            payload = order_payload(order, await items_of(session, order.id))
    except DeskError as exc:  # the transaction rolled back: nothing changed
        return _desk_error(request, exc)
    return web.json_response(payload)


def setup(app: web.Application, resolvers: list[ActorResolver] | None = None) -> None:
    """Who may ask: a store's website (its token), a panel user, and what else the caller adds."""
    app[ORDER_ACTORS] = [store_token_actor, panel_actor, *(resolvers or [])]


def register(api: ApiRegistry) -> None:
    """Declared with the panel's routes, so /api/openapi.json lists them (the models only describe:
    the views parse on their own, to answer every problem of an order in one 422)."""
    api.add("POST", "/api/orders", create_order, "A shop's website places an order (store API token and an "
            "Idempotency-Key header; a replay answers 200 with Idempotent-Replayed)", access="store",
            body=o.OrderIn, status=201, errors=(409,))
    api.add("GET", "/api/orders", list_orders, "Orders, newest first (a store's token: that store's)",
            access="panel_or_store", query=o.OrdersQuery)
    api.add("GET", "/api/orders/board", get_board, "Open orders by status column", access="panel_or_store")
    api.add("GET", "/api/orders/{id}", get_order, "An order with its items and history", access="panel_or_store")
    api.add("PATCH", "/api/orders/{id}", patch_order, "Move an order to another status", access="panel_or_store",
            body=o.OrderPatch, errors=(409,))
