"""Stores in the panel: admins create stores, products, partner invite links and website API tokens,
link partner panel accounts and set reminder delays; a partner sees only its own stores."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from core.errors import NotFound
from core.models import Product, Store, StoreMember
from core.orders import photos, stores
from core.orders import staff as store_staff
from web.api import schemas as s
from web.api.registry import ApiRegistry, json_ok, parse_body, path_id, read_at_most
from web.auth import actor_of, admin
from web.downloads import send_stored
from web.keys import DB, DESK, HUB


def store_json(sheet: store_staff.StoreSheet) -> dict[str, Any]:
    store = sheet.store
    return {
        "id": store.id, "name": store.name, "currency": store.currency, "time_zone": store.time_zone,
        "is_active": store.is_active,
        "has_api_token": store.api_token_digest is not None,
        "remind_after_minutes": store.remind_after_minutes, "escalate_after_minutes": store.escalate_after_minutes,
        "open_invites": sheet.open_invites,
        "members": [member_json(member) for member in sheet.members],
        "products": [product_json(product) for product in sheet.products],
    }


def member_json(member: StoreMember) -> dict[str, Any]:
    return {"id": member.id, "name": member.name, "language": member.language,
            "telegram": member.telegram_user_id is not None, "operator_id": member.operator_id,
            "joined_at": member.joined_at.isoformat()}


def product_json(product: Product) -> dict[str, Any]:
    # The URL changes with the file, so a browser never shows a replaced photo from its cache.
    photo_url = f"/api/products/{product.id}/photo?v={product.photo_key[-12:]}" if product.photo_key else None
    return {"id": product.id, "name": product.name, "description": product.description,
            "price_minor": product.price_minor, "currency": product.currency, "available": product.available,
            "has_photo": bool(product.photo_key or product.photo), "photo_url": photo_url}


async def _store_json(request: web.Request, store: Store) -> dict[str, Any]:
    return store_json((await store_staff.store_sheets(request[DB], [store]))[0])


async def list_stores(request: web.Request) -> web.Response:
    actor = actor_of(request)
    rows = await stores.all_stores(request[DB], actor.store_scope)
    return json_ok({"items": [store_json(sheet) for sheet in await store_staff.store_sheets(request[DB], rows)]})


async def create_store(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.StoreIn)
    store = await stores.create_store(request[DB], name=body.name, currency=body.currency,
                                      time_zone=body.time_zone, actor_id=actor.operator.id)
    await request[DB].commit()
    return json_ok(await _store_json(request, store), status=201)


async def patch_store(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.StorePatch)
    db, store_id = request[DB], path_id(request)
    store = await stores.update_store(db, store_id, actor_id=actor.operator.id, name=body.name,
                                      is_active=body.is_active, time_zone=body.time_zone,
                                      remind_after=body.remind_after_minutes,
                                      escalate_after=body.escalate_after_minutes)
    await db.commit()
    return json_ok(await _store_json(request, store))


async def create_invite(request: web.Request) -> web.Response:
    actor = admin(request)
    store_id = path_id(request)
    token = await store_staff.create_invite(request[DB], store_id, created_by=actor.operator.id)
    await request[DB].commit()
    username = request.app[DESK].settings.telegram_bot_username
    return json_ok({"start": store_staff.start_payload(token),
                    "link": store_staff.deep_link(username, token) if username else None,
                    "expires_in_hours": int(store_staff.DEFAULT_INVITE_TTL.total_seconds() // 3600)}, status=201)


async def issue_token(request: web.Request) -> web.Response:
    actor = admin(request)
    token = await stores.issue_api_token(request[DB], path_id(request), actor_id=actor.operator.id)
    await request[DB].commit()
    return json_ok({"token": token}, status=201)


async def add_member(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, s.StoreMemberIn)
    member = await store_staff.add_panel_member(request[DB], path_id(request), body.operator_id,
                                                actor_id=actor.operator.id)
    await request[DB].commit()
    request.app[HUB].close_operator(body.operator_id)  # its sockets reconnect with the new scope
    return json_ok(member_json(member), status=201)


async def remove_member(request: web.Request) -> web.Response:
    actor = admin(request)
    member = await store_staff.remove_member(request[DB], path_id(request, "member_id"),
                                             actor_role=actor.operator.role, actor_id=actor.operator.id,
                                             store_id=path_id(request))
    await request[DB].commit()
    if member.operator_id is not None:  # open sockets lose the store's events at once, not at the next sign-in
        request.app[HUB].close_operator(member.operator_id)
    return json_ok({"ok": True})


async def add_product(request: web.Request) -> web.Response:
    admin(request)
    body = await parse_body(request, s.ProductIn)
    product = await stores.add_product(request[DB], store_id=path_id(request), name=body.name,
                                       price_minor=body.price_minor, description=body.description,
                                       available=body.available)
    await request[DB].commit()
    return json_ok(product_json(product), status=201)


async def patch_product(request: web.Request) -> web.Response:
    admin(request)
    body = await parse_body(request, s.ProductPatch)
    product = await stores.update_product(request[DB], path_id(request), path_id(request, "product_id"),
                                          **body.model_dump(exclude_unset=True, exclude_none=True))
    await request[DB].commit()
    return json_ok(product_json(product))


async def put_photo(request: web.Request) -> web.Response:
    actor = admin(request)
    data = await _photo_part(request)
    product = await photos.set_photo(request[DB], request.app[DESK].storage, path_id(request),
                                     path_id(request, "product_id"), data, actor_id=actor.operator.id)
    await request[DB].commit()
    return json_ok(product_json(product))


async def _photo_part(request: web.Request) -> bytes:
    """The `photo` file of a multipart form (nothing when there is none: core says what it needs)."""
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "photo":
                return await read_at_most(part, photos.MAX_PHOTO_BYTES)
    return b""


async def delete_photo(request: web.Request) -> web.Response:
    actor = admin(request)
    product = await photos.remove_photo(request[DB], path_id(request), path_id(request, "product_id"),
                                        actor_id=actor.operator.id)
    await request[DB].commit()
    return json_ok(product_json(product))


async def get_photo(request: web.Request) -> web.StreamResponse:
    actor = actor_of(request)  # a partner sees its own stores' products only (404 otherwise)
    product = await photos.visible_photo(request[DB], path_id(request), actor.store_scope)
    key, content_type = await photos.photo_file(request.app[DESK].storage, product)
    await request[DB].close()
    return await send_stored(request, request.app[DESK].storage, key, {
        "Content-Type": content_type,
        "Content-Disposition": f"inline; filename=product-{product.id}",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400",
    }, missing=NotFound("product photo"))


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/stores", list_stores, "Stores with staff and products (partners: their own)", access="any")
    api.add("POST", "/api/stores", create_store, "Create a store", access="admin", body=s.StoreIn, status=201)
    api.add("PATCH", "/api/stores/{id}", patch_store,
            "Rename, open/close a store, set its time zone or its reminder delays",
            access="admin", body=s.StorePatch)
    api.add("POST", "/api/stores/{id}/invites", create_invite,
            "A single-use, expiring partner invite (Telegram deep link /start partner_<token>)", access="admin",
            response=s.StoreInviteOut, status=201)
    api.add("POST", "/api/stores/{id}/token", issue_token,
            "A new website API token for the store (shown once; the old one stops working)", access="admin",
            status=201)
    api.add("POST", "/api/stores/{id}/members", add_member, "Link a partner panel account to the store",
            access="admin", body=s.StoreMemberIn, status=201)
    api.add("DELETE", "/api/stores/{id}/members/{member_id}", remove_member, "Remove a staff member",
            access="admin")
    api.add("POST", "/api/stores/{id}/products", add_product, "Add a product", access="admin", body=s.ProductIn,
            status=201)
    api.add("PATCH", "/api/stores/{id}/products/{product_id}", patch_product,
            "Rename, re-price or switch a product's availability", access="admin", body=s.ProductPatch)
    api.add("PUT", "/api/stores/{id}/products/{product_id}/photo", put_photo,
            "Upload the product's photo (multipart field `photo`: JPEG, PNG or WebP up to 10 MB)", access="admin",
            multipart=True, errors=(413, 415))
    api.add("DELETE", "/api/stores/{id}/products/{product_id}/photo", delete_photo, "Remove the product's photo",
            access="admin")
    api.add("GET", "/api/products/{id}/photo", get_photo, "The product's uploaded photo (partners: their stores')",
            access="any")
