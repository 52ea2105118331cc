"""The website chat widget's sites: their public keys and the origins allowed to embed them.

The key only names the site in its pages; the Origin check is what keeps another site from embedding
it, and each visitor's signed token (web/widget/tokens.py) is what proves who writes. The sites
themselves (create, change, list) are in core/services/sites.py; here is what the widget's endpoints
need on every request, and a store's "widget" as it was before sites (its oldest site)."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.i18n import N_
from core.models import Site, Store
from core.services import audit

MAX_ORIGINS = 20
NOT_AN_ORIGIN = N_("not an origin (scheme://host[:port])")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LIMITS = {"greeting": 500, "hours": 200}


def new_key() -> str:
    return "wk_" + secrets.token_urlsafe(24)


def new_secret() -> str:
    return "ws_" + secrets.token_hex(28)


def normalize_origin(value: str) -> str:
    """`https://Shop.example:443/` -> `https://shop.example`: what a browser sends as Origin."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput(NOT_AN_ORIGIN, field="origins", origin=value)
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput(NOT_AN_ORIGIN, field="origins", origin=value) from None
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def normalize_origins(origins: list[str]) -> list[str]:
    if len(origins) > MAX_ORIGINS:
        raise InvalidInput("too many origins", field="origins", limit=MAX_ORIGINS)
    return sorted({normalize_origin(origin) for origin in origins})


async def widget_by_key(session: AsyncSession, key: str) -> Site | None:
    """The site of this public key: the desk's own, or one of an active store."""
    return await session.scalar(
        select(Site).outerjoin(Store, Store.id == Site.store_id)
        .where(Site.key == key, or_(Site.store_id.is_(None), Store.is_active.is_(True)))
    )


async def widget_of(session: AsyncSession, store_id: int) -> Site:
    """The store's first (oldest) site, made (named after the store, fresh key, no origin) on first
    ask: what `GET/PUT /api/stores/{id}/widget` and `desk site create --store` read from before sites."""
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound("no such store", store_id=store_id)
    site = await session.scalar(select(Site).where(Site.store_id == store_id).order_by(Site.created_at, Site.id)
                                .limit(1))
    if site is None:
        site = Site(name=store.name[:100], store_id=store_id, key=new_key(), origins=[], secret=new_secret())
        session.add(site)
        await session.flush()
    return site


async def configure_widget(session: AsyncSession, store_id: int, origins: list[str], *,
                           renew_key: bool = False, renew_secret: bool = False,
                           actor_id: int | None = None, **look: str | None) -> Site:
    """Set the origins of the store's first site (normalized, deduplicated); `renew_key` retires the old
    key (pages that embed it stop working until they take the new one); `renew_secret` the old secret
    (the shop's backend must sign with the new one: until it does, its users' claims are refused).
    `look`: greeting, color (#rrggbb), hours; None leaves one as it is."""
    origins = normalize_origins(origins)
    site = await widget_of(session, store_id)
    site.origins = origins
    for name, value in look.items():
        if value is not None:
            setattr(site, name, look_value(name, value))
    if renew_key:
        site.key = new_key()
    if renew_secret:
        site.secret = new_secret()
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="store.widget", object_type="store", object_id=store_id, origins=site.origins,
                 renewed_key=renew_key, renewed_secret=renew_secret)
    await session.flush()
    return site


def look_value(name: str, value: str) -> str:
    value = value.strip()
    if name == "color":
        if not COLOR.match(value):
            raise InvalidInput(N_("a colour is #rrggbb"), field="color")
        return value.lower()
    if name not in LIMITS or len(value) > LIMITS[name]:
        raise InvalidInput(N_("too long (at most {limit} characters)"), field=name, limit=LIMITS.get(name, 0))
    return value


def origin_allowed(site: Site, origin: str | None) -> bool:
    if not origin:
        return False
    try:
        return normalize_origin(origin) in site.origins
    except InvalidInput:
        return False
