"""Field checks for an order draft. Each failure is a stable code; fronts show ERROR_MESSAGES."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from core.i18n import N_

MAX_ITEMS: Final = 50
MAX_QUANTITY: Final = 99
MAX_PARTY: Final = 50
MAX_PHONE: Final = 32
MAX_ID: Final = 2**63 - 1
MAX_TEXT: Final = {"customer_name": 128, "address": 500, "comment": 1000}

ERROR_MESSAGES: Final = {
    "required": N_("This field is required."),
    "unknown_store": N_("There is no such store."),
    "store_inactive": N_("This store is not taking orders now."),
    "unknown_kind": N_("Choose delivery, pickup or booking."),
    "empty": N_("Add at least one item."),
    "too_many": N_("Too many items in one order."),
    "unknown_product": N_("There is no such product in this store."),
    "unavailable": N_("This product is not available now."),
    "bad_quantity": N_("Quantity must be a whole number from 1 to 99."),
    "price_changed": N_("The price has changed; please review the order."),
    "bad_phone": N_("Enter a phone number, for example +7 900 000-00-00."),
    "too_long": N_("This text is too long."),
    "in_past": N_("Choose a time in the future."),
    "bad_party_size": N_("Party size must be from 1 to 50."),
    "bad_type": N_("This value has the wrong type."),
    "unknown_source": N_("Orders cannot come from this channel."),
}

_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-]+$")


def phone_error(phone: str) -> str | None:
    digits = sum(ch.isdigit() for ch in phone)
    if len(phone) > MAX_PHONE or not _PHONE_CHARS.match(phone) or not 5 <= digits <= 15:
        return "bad_phone"
    return None


def text_error(field: str, value: str) -> str | None:
    return "too_long" if len(value) > MAX_TEXT.get(field, 1000) else None


def quantity_error(quantity: object) -> str | None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        return "bad_quantity"
    return None


def schedule_error(when: datetime | None, now: datetime, *, required: bool) -> str | None:
    if when is None:
        return "required" if required else None
    return "in_past" if when <= now else None


def party_error(size: int | None) -> str | None:
    if size is None:
        return "required"
    return None if 1 <= size <= MAX_PARTY else "bad_party_size"
