"""Every request's input checked once, before any view: an id in the path is ASCII digits within
bigint (else 404), and no query value, header, form field or JSON string carries a NUL or a lone
surrogate (aiohttp turns bytes that are not UTF-8 into those): else 422 naming the field.
PostgreSQL refuses both with an error that would otherwise surface as a 500 from deep inside a use
case. Numbers are the models' business (web.api.schemas.Id caps ids at bigint; the orders intake
reports every problem of an order in one answer)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from web.errors import ValidationFailed

BIGINT_MAX = 2**63 - 1


def parse_id(raw: str) -> int | None:
    """A database id written the one way we accept ("²" and "٣" are digits to str.isdigit)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= BIGINT_MAX else None


def is_id_name(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def bad_text(value: str) -> bool:
    """NUL (PostgreSQL text cannot hold it) or a lone surrogate (not encodable as UTF-8)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def first_bad(value: Any, where: tuple[str, ...] = ()) -> str | None:
    """The dotted name of the first unacceptable value in parsed JSON (pydantic's `loc` style)."""
    if isinstance(value, str):
        return ".".join(where) or "body" if bad_text(value) else None
    items: Iterable[tuple[str, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(index), entry) for index, entry in enumerate(value))
    else:
        return None
    for key, entry in items:
        if bad_text(key):
            return ".".join(where) or "body"
        if (found := first_bad(entry, (*where, key))) is not None:
            return found
    return None


def refuse_bad(value: Any) -> None:
    if (found := first_bad(value)) is not None:
        raise ValidationFailed({found}, code="bad_text")


def _refuse_bad_pairs(pairs: Iterable[tuple[str, Any]]) -> None:
    """Query strings and forms repeat names (?status=a&status=b): every value is looked at."""
    for name, value in pairs:
        if isinstance(value, str) and (bad_text(name) or bad_text(value)):
            raise ValidationFailed({name if not bad_text(name) else "query"}, code="bad_text")


def _check_path(request: web.Request) -> None:
    for name, raw in request.match_info.items():
        if is_id_name(name) and parse_id(raw) is None:
            raise web.HTTPNotFound(text="not found")


async def _check_body(request: web.Request) -> None:
    if not request.body_exists or request.content_type.startswith("multipart/"):
        return  # multipart text fields meet the same rule in the API models (web.api.schemas.Strict)
    if request.content_type == "application/x-www-form-urlencoded":
        _refuse_bad_pairs((await request.post()).items())
        return
    raw = await request.read()  # kept by aiohttp: the view's request.json() reads it again
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return  # the view answers bad_json in its own words
    refuse_bad(data)


@web.middleware
async def guard_input(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        raise request.match_info.http_exception  # 404/405 (with Allow) before sign-in and CSRF
    if request.path.startswith("/static/") or request.path == "/ws":
        return await handler(request)
    _check_path(request)
    try:
        _refuse_bad_pairs(request.query.items())
        _refuse_bad_pairs(request.headers.items())  # stored too (User-Agent, Idempotency-Key)
        await _check_body(request)
    except ValidationFailed:
        if request.path.startswith("/api/"):
            raise
        raise web.HTTPUnprocessableEntity(text="unprocessable") from None
    return await handler(request)
