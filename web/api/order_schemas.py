"""The orders API's request shapes, for /api/openapi.json. web.orders_api parses these bodies on its
own (so a shop's website gets every problem of an order in one 422); these models describe them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from core.orders.queries import MAX_PAGE
from core.orders.validation import MAX_ITEMS, MAX_PARTY, MAX_PHONE, MAX_QUANTITY, MAX_TEXT
from web.api.schemas import Id, Strict

OrderKind = Literal["delivery", "pickup", "booking"]
OrderStatus = Literal["pending", "preparing", "ready", "delivering", "completed", "rejected", "cancelled"]


class OrderItemIn(BaseModel):
    product_id: Id
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    unit_price_minor: int | None = Field(default=None, ge=0, description="Checked against the store's price.")


class OrderIn(BaseModel):
    """Needs the store's API token (Bearer) and an Idempotency-Key header."""

    kind: OrderKind
    items: list[OrderItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    customer_name: str = Field(default="", max_length=MAX_TEXT["customer_name"])
    customer_phone: str = Field(default="", max_length=MAX_PHONE)
    address: str = Field(default="", max_length=MAX_TEXT["address"])
    comment: str = Field(default="", max_length=MAX_TEXT["comment"])
    language: str = Field(default="en", max_length=8)
    scheduled_at: str | None = Field(default=None, description="ISO 8601; without an offset: the store's time")
    party_size: int | None = Field(default=None, ge=1, le=MAX_PARTY)


class OrderPatch(BaseModel):
    status: OrderStatus
    reason: str | None = Field(default=None, max_length=500, description="Required to reject or cancel.")
    expected: OrderStatus | None = Field(default=None, description="409 unless the order is still in it.")


class OrdersQuery(Strict):
    status: OrderStatus | None = None
    store_id: Id | None = None
    before: Id | None = None
    limit: Id = Field(default=50, description=f"At most {MAX_PAGE} are answered.")
