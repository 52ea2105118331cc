"""Product photos uploaded in the panel. The desk keeps the file (by content hash, in the attachment
store); the bot uploads it to Telegram on the first send and keeps Telegram's file id in
`Product.photo`, so later sends are a file id only. A new upload clears that cached id."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.i18n import N_
from core.models import Product
from core.orders import stores
from core.services import audit
from core.storage import AttachmentStore

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Telegram's limit for a photo a bot uploads

# Recognised by their first bytes, never by the name or the type the browser claims.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def photo_type(head: bytes) -> str | None:
    """The image type of a file from its first 12 bytes: JPEG, PNG or WebP; None for anything else."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for signature, kind in _SIGNATURES if head.startswith(signature)), None)


async def set_photo(session: AsyncSession, storage: AttachmentStore, store_id: int, product_id: int, data: bytes,
                    *, actor_id: int | None) -> Product:
    product = await stores.store_product(session, store_id, product_id)
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput(N_("A product photo can be at most 10 MB."), field="photo")
    content_type = photo_type(data[:12])
    if content_type is None:
        raise InvalidInput(N_("A product photo must be a JPEG, PNG or WebP image."), field="photo")
    stored = await storage.save(data, f"product-{product.id}", content_type)
    product.photo_key = stored.storage_key
    product.photo = None  # Telegram's copy of the previous photo; the bot uploads the new one when first shown
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="product.photo", object_type="product", object_id=product.id, sha256=stored.sha256)
    await session.flush()
    return product


async def remove_photo(session: AsyncSession, store_id: int, product_id: int, *, actor_id: int | None) -> Product:
    product = await stores.store_product(session, store_id, product_id)
    product.photo_key = None
    product.photo = None
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id,
                 action="product.photo_removed", object_type="product", object_id=product.id)
    await session.flush()
    return product


async def photo_file(storage: AttachmentStore, product: Product) -> tuple[str, str]:
    """The uploaded photo's storage key and its image type (from its first bytes); NotFound when it is gone."""
    key = product.photo_key or ""
    try:
        head = b"".join([part async for part in storage.chunks(key, 0, 12)])
    except OSError:
        raise NotFound("product photo", product_id=product.id) from None
    return key, photo_type(head) or "application/octet-stream"


def keep_telegram_copy(product: Product, file_id: str) -> None:
    """The bot uploaded the photo: Telegram's file id is what it sends from now on (until a new upload)."""
    product.photo = file_id


async def visible_photo(session: AsyncSession, product_id: int, store_scope: frozenset[int] | None) -> Product:
    """A product with an uploaded photo that the viewer may see (a partner: its own stores'); NotFound otherwise."""
    product = await session.get(Product, product_id)
    hidden = store_scope is not None and product is not None and product.store_id not in store_scope
    if product is None or product.photo_key is None or hidden:
        raise NotFound("product photo", product_id=product_id)
    return product
