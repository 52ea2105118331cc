"""Routes declared once, with the models that validate them; the OpenAPI document is built from
the same declarations, so the contract cannot drift from the code."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web
from pydantic import BaseModel

from core.errors import NotFound
from web.errors import ValidationFailed
from web.input_guard import BIGINT_MAX, parse_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


# Who may call: a signed-in panel user (session cookie or personal token), a store's website (its
# store API token), or anyone.
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "public": [],
    "any": [{"session": []}, {"bearer": []}],
    "staff": [{"session": []}, {"bearer": []}],
    "admin": [{"session": []}, {"bearer": []}],
    "store": [{"storeToken": []}],
    "panel_or_store": [{"session": []}, {"bearer": []}, {"storeToken": []}],
}
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX}
ERROR_TEXTS = {
    "400": "The link is invalid, used or expired.",
    "401": "Not signed in (or wrong credentials).",
    "403": "The role may not do this, or the CSRF token or Origin is wrong.",
    "404": "No such object, or not visible to you.",
    "409": "Conflicts with the object's current state.",
    "413": "The file is too large.",
    "415": "This file type is not accepted.",
    "422": "Validation failed; `fields` maps each field to its problem.",
    "429": "Too many attempts; Retry-After says when to try again.",
    "503": "The database is unreachable for a moment; Retry-After says when to try again.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


class ErrorOut(BaseModel):
    """Every refusal of the API: a stable code, a text in the caller's language, the fields at fault."""

    error: str
    message: str
    fields: dict[str, str] | None = None


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    handler: Handler
    summary: str
    access: str = "staff"  # public | any (signed in) | staff | admin | store | panel_or_store
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    multipart: bool = False
    errors: tuple[int, ...] = ()  # refusals beyond the ones every route of its kind may give (409, 429...)
    path_types: dict[str, dict[str, Any]] = field(default_factory=dict)  # parameters that are not ids


@dataclass
class ApiRegistry:
    routes: list[ApiRoute] = field(default_factory=list)

    def add(self, method: str, path: str, handler: Handler, summary: str, **options: Any) -> None:
        self.routes.append(ApiRoute(method, path, handler, summary, **options))

    def install(self, app: web.Application) -> None:
        for route in self.routes:
            app.router.add_route(route.method, route.path, route.handler)


async def parse_body(request: web.Request, model: type[M]) -> M:
    try:
        data = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed({"body"}, code="bad_json") from exc
    if not isinstance(data, dict):
        raise ValidationFailed({"body"}, code="bad_json")
    return model.model_validate(data)


async def read_at_most(part: BodyPartReader, limit: int) -> bytes:
    """An uploaded file part, read up to one byte past `limit`: the caller can tell it is too large
    (len > limit) without the rest ever being held in memory."""
    chunks, size = [], 0
    while size <= limit and (chunk := await part.read_chunk(64 * 1024)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[: limit + 1]


def parse_query(request: web.Request, model: type[M]) -> M:
    data: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        data[key] = values if len(values) > 1 or _is_list(model, key) else values[0]
    return model.model_validate(data)


def _is_list(model: type[BaseModel], key: str) -> bool:
    info = model.model_fields.get(key)
    return info is not None and "list" in str(info.annotation)


def path_id(request: web.Request, name: str = "id") -> int:
    """web.input_guard already answered 404 for a malformed id; this is the typed read of it."""
    value = parse_id(request.match_info.get(name, ""))
    if value is None:
        raise NotFound("bad id")
    return value


def json_ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def openapi_document(registry: ApiRegistry, title: str = "Desk API", version: str = "1") -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for route in registry.routes:
        operation: dict[str, Any] = {"summary": route.summary, "x-access": route.access,
                                     "responses": _responses(route, components)}
        operation["security"] = SECURITY[route.access]
        params = [{"name": name, "in": "path", "required": True, "schema": route.path_types.get(name, ID_SCHEMA)}
                  for name in _path_params(route.path)]
        if route.query is not None:
            schema = _schema(route.query, components)
            for name, prop in schema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                               "schema": prop})
        if params:
            operation["parameters"] = params
        if route.body is not None:
            media = "multipart/form-data" if route.multipart else "application/json"
            ref = {"$ref": f"#/components/schemas/{route.body.__name__}"}
            _schema(route.body, components)
            content = {"application/json": {"schema": ref}}
            if route.multipart:
                content[media] = {"schema": ref}
            operation["requestBody"] = {"required": True, "content": content}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "desk_session"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "A personal API token"},
                "storeToken": {"type": "http", "scheme": "bearer", "description": "A store's website API token"},
            },
        },
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return schema


def _responses(route: ApiRoute, components: dict[str, Any]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    if route.response is not None:
        _schema(route.response, components)
        ok["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{route.response.__name__}"}}}
    responses: dict[str, Any] = {str(route.status): ok}
    _schema(ErrorOut, components)
    for code in sorted(_refusals(route)):
        refusal: dict[str, Any] = {
            "description": ERROR_TEXTS[str(code)],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }
        if code in (429, 503):
            refusal["headers"] = RETRY_AFTER
        responses[str(code)] = refusal
    return responses


def _refusals(route: ApiRoute) -> set[int]:
    """Input of any route is checked (a NUL in any query value is a 422) and any route may meet a
    database outage (503); signed-in routes refuse strangers; mutating ones check CSRF and Origin."""
    codes = {422, 503, *route.errors}
    if route.access != "public":
        codes.add(401)
    if route.access not in ("public", "any", "store") or route.method != "GET":
        codes.add(403)
    if "{" in route.path:
        codes.add(404)
    return codes
