"""JSON body of POST /api/orders → an OrderDraft. Type problems become field errors that travel
with the draft, so the customer's website gets every problem in one 422."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.models import Store
from core.orders.placing import DraftItem, OrderDraft
from core.orders.stores import zone_of
from core.orders.validation import MAX_ID

TEXT_FIELDS = ("customer_name", "customer_phone", "address", "comment", "language")


def _text(body: dict[str, Any], name: str, errors: dict[str, str]) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = "bad_type"
        return ""
    return value


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(body: dict[str, Any], errors: dict[str, str], zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 time. Without an offset it is the store's local time: a booking form's "19:00"
    means 19:00 where the store is."""
    value = body.get("scheduled_at")
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        errors["scheduled_at"] = "bad_type"
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _items(body: dict[str, Any], errors: dict[str, str]) -> tuple[DraftItem, ...]:
    raw = body.get("items", [])
    if not isinstance(raw, list):
        errors["items"] = "bad_type"
        return ()
    items = []
    for index, entry in enumerate(raw):
        where = f"items[{index}]"
        product_id = _int(entry.get("product_id")) if isinstance(entry, dict) else None
        if product_id is None or not 0 < product_id <= MAX_ID:
            errors[f"{where}.product_id"] = "bad_type"
            items.append(DraftItem(0, 1))  # keeps the indexes of the lines after it
            continue
        quantity = entry.get("quantity", 1)
        if _int(quantity) is None:
            errors[f"{where}.quantity"] = "bad_quantity"
            quantity = 1
        price = entry.get("unit_price_minor")
        if price is not None and _int(price) is None:
            errors[f"{where}.unit_price_minor"] = "bad_type"
            price = None
        items.append(DraftItem(product_id, quantity, price))
    return tuple(items)


def draft_from_json(store: Store, body: dict[str, Any]) -> OrderDraft:
    errors: dict[str, str] = {}
    texts = {name: _text(body, name, errors) for name in TEXT_FIELDS}
    party = body.get("party_size")
    if party is not None and _int(party) is None:
        errors["party_size"] = "bad_party_size"
        party = None
    kind = body.get("kind")
    return OrderDraft(
        store_id=store.id,
        kind=kind if isinstance(kind, str) else "",
        items=_items(body, errors),
        customer_name=texts["customer_name"],
        customer_phone=texts["customer_phone"],
        address=texts["address"],
        comment=texts["comment"],
        language=texts["language"] or "en",
        scheduled_at=_when(body, errors, zone_of(store)),
        party_size=party,
        source="web",
        errors=errors,
    )
