"""Headers every response carries, and the same-origin rule for mutating requests and sockets."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web.keys import DESK

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _apply(exc)
        raise
    if not response.prepared:
        _apply(response)
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
    return response


def _apply(response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"


def own_origins(request: web.Request) -> set[str]:
    """The origin the browser used to reach us, plus WEB_PUBLIC_ORIGIN when behind a proxy."""
    settings = request.app[DESK].settings
    origins = {f"{request.scheme}://{request.host}"}
    if settings.web_public_origin:
        origins.add(settings.web_public_origin)
    return origins


def foreign_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and origin not in own_origins(request)


def is_https(request: web.Request) -> bool:
    settings = request.app[DESK].settings
    return request.secure or bool(settings.web_public_origin and settings.web_public_origin.startswith("https://"))
