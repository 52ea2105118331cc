"""Every failure of an API request becomes JSON with a stable code and a translated message;
401/403/404 say nothing about what exists."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from html import escape
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from core.auth.errors import LoginThrottled
from core.db import database_unavailable as is_outage
from core.db import refused_value
from core.errors import DeskError, NotAllowed, NotFound, TooLarge
from web.i18n import error_text, field_text, request_language, translate
from web.keys import DESK

log = logging.getLogger(__name__)
# How long a client should wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 5

STATUS = {
    "not_found": 404,
    "not_allowed": 403,
    "invalid_input": 422,
    "transition_not_allowed": 409,
    "ticket_closed": 409,
    "conflict": 409,
    "too_large": 413,
    "unsupported_type": 415,
    "invalid_credentials": 401,
    "login_throttled": 429,
    "link_invalid": 400,
    "bad_text": 422,
}


class ApiError(Exception):
    """A refusal decided in web/ (auth, CSRF, origin, body syntax)."""

    def __init__(self, status: int, code: str, fields: dict[str, str] | None = None, **params: object) -> None:
        super().__init__(code)
        self.status, self.code, self.fields, self.params = status, code, fields, params


class ValidationFailed(Exception):
    """A 422 decided in web/ (explicit nulls, too many files): each field gets the text of `code`."""

    def __init__(self, fields: set[str], code: str = "invalid_input", **params: object) -> None:
        super().__init__(code)
        self.fields, self.code, self.params = fields, code, params


def error_response(request: web.Request, status: int, code: str, fields: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, **params: object) -> web.Response:
    return params_response(request, status, code, params, fields=fields, headers=headers)


def params_response(request: web.Request, status: int, code: str, params: Mapping[str, object], *,
                    fields: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> web.Response:
    """`error_response` with the text's parameters as a mapping (an error's own `params`), which can
    never be taken for `fields` or `headers`."""
    body: dict[str, Any] = {"error": code, "message": error_text(request, code, **params)}
    if fields:
        body["fields"] = fields
    return web.json_response(body, status=status, headers=headers)


def validation_fields(request: web.Request, exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error.get("loc", ())) or "body"
        fields.setdefault(name, field_text(request, str(error.get("type", "invalid"))))
    return fields


def _explained(request: web.Request, exc: DeskError, params: dict[str, Any]) -> str:
    """The field's text: the core's own message when it was written for people (marked with N_, so
    the catalogue test guarantees its translations), else the generic text of the error's code."""
    message = str(exc)
    if request.app[DESK].translator.knows(message):
        return translate(request, message, **params)
    return error_text(request, exc.code, **params)


def desk_error_response(request: web.Request, exc: DeskError) -> web.Response:
    if isinstance(exc, NotFound):
        return error_response(request, 404, "not_found")
    if isinstance(exc, NotAllowed):
        return error_response(request, 403, "forbidden")
    if isinstance(exc, LoginThrottled):
        seconds = max(1, round(exc.retry_after))
        code = "login_locked" if exc.locked else "login_throttled"
        return error_response(request, 429, code, headers={"Retry-After": str(seconds)}, seconds=seconds,
                              minutes=max(1, round(seconds / 60)))
    status = STATUS.get(exc.code, 400)
    field = exc.params.get("field")
    params: dict[str, object] = {key: value for key, value in exc.params.items()
                                 if isinstance(value, (str, int, float))}
    if isinstance(exc, TooLarge):
        limit = exc.params.get("limit", 0)
        params["limit_mb"] = round((int(limit) if isinstance(limit, (str, int, float)) else 0) / 1024 / 1024, 1)
    fields = {str(field): _explained(request, exc, params)} if field else None
    if status == 422:
        return error_response(request, 422, "validation", fields=fields or {"body": error_text(request, exc.code)})
    return params_response(request, status, exc.code, params, fields=fields)


@web.middleware
async def api_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        return params_response(request, exc.status, exc.code, exc.params, fields=exc.fields)
    except ValidationError as exc:
        return error_response(request, 422, "validation", fields=validation_fields(request, exc))
    except ValidationFailed as exc:
        text = error_text(request, exc.code, **exc.params)
        return error_response(request, 422, "validation", fields=dict.fromkeys(sorted(exc.fields), text))
    except DeskError as exc:
        return desk_error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status == 404:
            return error_response(request, 404, "not_found")
        if exc.status == 405:
            return error_response(request, 405, "not_allowed", headers={"Allow": exc.headers.get("Allow", "")})
        raise
    except Exception as exc:
        return unexpected_response(request, exc)


def unexpected_response(request: web.Request, exc: Exception) -> web.Response:
    """A database outage is a 503 the client may retry; a value PostgreSQL refused that slipped past
    web.input_guard is still the client's 422; anything else is our bug."""
    where = {"path": request.path, "method": request.method}
    if is_outage(exc):
        log.warning("api request during a database outage", extra={**where, "error": repr(exc)[:300]})
        return error_response(request, 503, "unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, DBAPIError) and refused_value(exc):
        log.warning("api request refused by the database", extra={**where, "error": repr(exc)[:300]})
        return error_response(request, 422, "validation", fields={"body": error_text(request, "invalid_input")})
    log.error("api request failed", extra=where, exc_info=exc)
    return error_response(request, 500, "error")


@web.middleware
async def page_outage(request: web.Request, handler: Any) -> web.StreamResponse:
    """Pages during a database outage: a 503 page that says so (in the visitor's language), not a 500."""
    if request.path.startswith(("/api/", "/static/")) or request.path == "/ws":
        return await handler(request)
    try:
        return await handler(request)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("page during a database outage", extra={"path": request.path, "error": repr(exc)[:300]})
        text = error_text(request, "unavailable")
        html = (f'<!doctype html><html lang="{request_language(request)}"><meta charset="utf-8"><title>503</title>'
                f"<h1>503</h1><p>{escape(text)}</p></html>")
        return web.Response(status=503, text=html, content_type="text/html",
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
