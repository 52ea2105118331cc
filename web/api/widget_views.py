"""The website chat widget's sites in the panel: admins list, create and change them (name, origins,
look, queue, store, pre-chat form), read the snippet a site pastes, renew its secret and delete one
no ticket was started from. A partner reads its own stores' sites (without their secrets); operators
are refused. `GET/PUT /api/stores/{id}/widget` are the store's first site, as before sites existed."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from core.auth.permissions import require_admin
from core.errors import NotFound
from core.models import Site
from core.services import sites as site_service
from core.services.widgets import MAX_ORIGINS, configure_widget, widget_of
from web.api import schemas as s
from web.api.registry import ApiRegistry, json_ok, parse_body, path_id
from web.auth import Actor, actor_of, admin
from web.keys import DB, DESK
from web.security import own_origins


class WidgetIn(s.Strict):
    origins: list[str] = Field(max_length=MAX_ORIGINS, description="Sites allowed to embed it: scheme://host[:port]")
    renew_key: bool = Field(default=False, description="Retire the current key (pages embedding it stop working)")
    renew_secret: bool = Field(default=False, description="Retire the current secret (the shop's backend must sign "
                                                          "its users' ids with the new one)")


    greeting: str | None = Field(default=None, max_length=500, description="Shown above the conversation")
    color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$", description="The widget's colour, #rrggbb")
    hours: str | None = Field(default=None, max_length=200, description="Working hours, as the visitor reads them")


class WidgetOut(BaseModel):
    store_id: int
    key: str
    origins: list[str]
    secret: str = Field(description="The shop's backend signs a logged-in user's id with it: "
                                    "hex(HMAC-SHA256(secret, user id)) as data-user-hash")
    greeting: str
    color: str
    hours: str
    enabled: bool = Field(description="WIDGET_ENABLED is set: this desk serves the widget")
    snippet: str = Field(description="The tag a shop puts in its pages")


Prechat = Literal["off", "optional", "required"]


class SiteIn(s.Strict):
    """A site's settings; on PUT a field left out stays as it is (queue_id/store_id null: none)."""

    name: str | None = Field(default=None, max_length=100, description="What admins and operators call it")
    origins: list[str] | None = Field(default=None, max_length=MAX_ORIGINS,
                                      description="Origins allowed to embed it: scheme://host[:port]")
    greeting: str | None = Field(default=None, max_length=500, description="Shown above the conversation")
    color: str | None = Field(default=None, max_length=7, description="The widget's colour, #rrggbb")
    hours: str | None = Field(default=None, max_length=200, description="Working hours, as the visitor reads them")
    queue_id: s.Id | None = Field(default=None, description="Where its tickets go (null: the topic the visitor "
                                                            "picks)")
    store_id: s.Id | None = Field(default=None, description="The store whose site it is (null: the desk's own)")
    prechat: Prechat | None = Field(default=None, description="The form before the first message")


class SiteOut(BaseModel):
    id: int
    name: str
    key: str
    origins: list[str]
    secret: str | None = Field(description="For admins: the shop's backend signs its users' ids with it")
    greeting: str
    color: str
    hours: str
    queue_id: int | None
    store_id: int | None
    prechat: Prechat
    created_at: str | None
    enabled: bool
    snippet: str


class SitePage(BaseModel):
    items: list[SiteOut]


def snippet_of(request: web.Request, key: str) -> str:
    settings = request.app[DESK].settings
    desk_origin = settings.web_public_origin or sorted(own_origins(request))[0]
    return f'<script src="{desk_origin}/widget.js" data-key="{key}" async></script>'


def widget_json(request: web.Request, widget: Site) -> dict[str, Any]:
    assert widget.store_id is not None
    return {"store_id": widget.store_id, "key": widget.key, "origins": list(widget.origins), "secret": widget.secret,
            "greeting": widget.greeting, "color": widget.color, "hours": widget.hours,
            "enabled": request.app[DESK].settings.widget_enabled, "snippet": snippet_of(request, widget.key)}


def site_json(request: web.Request, site: Site, *, with_secret: bool = True) -> dict[str, Any]:
    return {"id": site.id, "name": site.name, "key": site.key, "origins": list(site.origins),
            "secret": site.secret if with_secret else None, "greeting": site.greeting, "color": site.color,
            "hours": site.hours, "queue_id": site.queue_id, "store_id": site.store_id, "prechat": site.prechat,
            "created_at": site.created_at.isoformat() if site.created_at else None,
            "enabled": request.app[DESK].settings.widget_enabled, "snippet": snippet_of(request, site.key)}


def _reader(request: web.Request) -> tuple[Actor, frozenset[int] | None]:
    """Admins read every site; a partner its stores' (the rest is 404); operators are refused."""
    actor = actor_of(request)
    if actor.operator.role == "partner":
        return actor, actor.store_scope
    require_admin(actor.operator)
    return actor, None


def _settings(body: SiteIn) -> site_service.SiteSettings:
    given = body.model_fields_set
    return site_service.SiteSettings(
        name=body.name, origins=body.origins, greeting=body.greeting, color=body.color, hours=body.hours,
        queue_id=body.queue_id, store_id=body.store_id, prechat=body.prechat,
        clear_queue="queue_id" in given and body.queue_id is None,
        clear_store="store_id" in given and body.store_id is None)


async def list_sites(request: web.Request) -> web.Response:
    _actor, scope = _reader(request)
    found = await site_service.list_sites(request[DB], set(scope) if scope is not None else None)
    return json_ok({"items": [site_json(request, site, with_secret=scope is None) for site in found]})


async def get_site(request: web.Request) -> web.Response:
    _actor, scope = _reader(request)
    site = await site_service.get_site(request[DB], path_id(request))
    if scope is not None and site.store_id not in scope:
        raise NotFound("no such site")
    return json_ok(site_json(request, site, with_secret=scope is None))


async def create_site(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, SiteIn)
    site = await site_service.create_site(request[DB], _settings(body), actor_id=actor.operator.id)
    await request[DB].commit()
    return json_ok(site_json(request, site), status=201)


async def put_site(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, SiteIn)
    site = await site_service.update_site(request[DB], path_id(request), _settings(body), actor_id=actor.operator.id)
    await request[DB].commit()
    return json_ok(site_json(request, site))


async def renew_site_secret(request: web.Request) -> web.Response:
    actor = admin(request)
    site = await site_service.renew_secret(request[DB], path_id(request), actor_id=actor.operator.id)
    await request[DB].commit()
    return json_ok(site_json(request, site))


async def delete_site(request: web.Request) -> web.Response:
    actor = admin(request)
    await site_service.delete_site(request[DB], path_id(request), actor_id=actor.operator.id)
    await request[DB].commit()
    return web.Response(status=204)


async def get_widget(request: web.Request) -> web.Response:
    admin(request)
    widget = await widget_of(request[DB], path_id(request))
    await request[DB].commit()  # made on first ask
    return json_ok(widget_json(request, widget))


async def put_widget(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, WidgetIn)
    widget = await configure_widget(request[DB], path_id(request), body.origins, renew_key=body.renew_key,
                                    renew_secret=body.renew_secret, actor_id=actor.operator.id,
                                    greeting=body.greeting, color=body.color, hours=body.hours)
    await request[DB].commit()
    return json_ok(widget_json(request, widget))


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/sites", list_sites,
            "Websites embedding the chat (admins: all; partners: their stores', without secrets)", access="any",
            response=SitePage, errors=(403,))
    api.add("POST", "/api/sites", create_site, "Create a website for the chat widget; returns its key and snippet",
            access="admin", body=SiteIn, response=SiteOut, status=201)
    api.add("GET", "/api/sites/{id}", get_site, "A website of the chat widget", access="any", response=SiteOut,
            errors=(403,))
    api.add("PUT", "/api/sites/{id}", put_site, "Change a website: fields left out stay", access="admin",
            body=SiteIn, response=SiteOut)
    api.add("POST", "/api/sites/{id}/secret", renew_site_secret,
            "Renew the site's secret (the shop's backend must sign with the new one)", access="admin",
            response=SiteOut)
    api.add("DELETE", "/api/sites/{id}", delete_site,
            "Delete a website no ticket was started from (409 otherwise: remove its origins instead)",
            access="admin", errors=(409,), status=204)
    api.add("GET", "/api/stores/{id}/widget", get_widget,
            "The store's website chat widget: key, allowed sites, the snippet to embed", access="admin",
            response=WidgetOut)
    api.add("PUT", "/api/stores/{id}/widget", put_widget,
            "Set the sites allowed to embed the store's widget; optionally renew its key", access="admin",
            body=WidgetIn, response=WidgetOut)

