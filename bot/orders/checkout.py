"""Checkout keyboards and texts: kind, booking date/time/party pickers, the summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import Tr
from bot.orders.callbacks import FlowCb, KindCb, SlotCb
from bot.render import esc
from core.models import Product, Store
from core.orders.money import format_money
from core.orders.render import local_time
from core.orders.statuses import KIND_LABELS, ORDER_KINDS
from core.orders.stores import zone_of

DAYS_AHEAD = 7
FIRST_HOUR, LAST_HOUR = 10, 21
PARTY_SIZES = (1, 2, 3, 4, 5, 6, 8, 10)


def _b(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def kinds(tr: Tr) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(tr(KIND_LABELS[kind]), KindCb(kind=kind).pack())]
                                                 for kind in ORDER_KINDS])


def booking_moment(day: date, slot: str, zone: tzinfo) -> datetime:
    """A date and an "HH:MM" picked in the store's local time, as an aware moment."""
    return datetime.combine(day, time.fromisoformat(slot), zone)


def slots(day: date, now: datetime, zone: tzinfo) -> list[str]:
    """The store's local hours on `day` that are at least 30 minutes away."""
    return [f"{hour:02d}:00" for hour in range(FIRST_HOUR, LAST_HOUR + 1)
            if booking_moment(day, f"{hour:02d}:00", zone) > now + timedelta(minutes=30)]


def dates(now: datetime, zone: tzinfo) -> InlineKeyboardMarkup:
    today = now.astimezone(zone).date()
    days = [today + timedelta(days=n) for n in range(DAYS_AHEAD)]
    buttons = [_b(day.strftime("%d.%m"), SlotCb(field="date", value=day.isoformat()).pack())
               for day in days if slots(day, now, zone)]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i:i + 4] for i in range(0, len(buttons), 4)])


def times(day: date, now: datetime, zone: tzinfo) -> InlineKeyboardMarkup:
    # ":" separates callback fields, so the value travels as "HHMM".
    buttons = [_b(slot, SlotCb(field="time", value=slot.replace(":", "")).pack())
               for slot in slots(day, now, zone)]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i:i + 4] for i in range(0, len(buttons), 4)])


def party() -> InlineKeyboardMarkup:
    buttons = [_b(str(size), SlotCb(field="party", value=str(size)).pack()) for size in PARTY_SIZES]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[:4], buttons[4:]])


def phone_request(tr: Tr) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=tr("📱 Share my phone number"), request_contact=True)]],
                               resize_keyboard=True, one_time_keyboard=True)


def skip(tr: Tr) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(tr("Skip"), FlowCb(action="skip").pack())]])


def confirm(tr: Tr) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(tr("✅ Confirm"), FlowCb(action="confirm").pack()),
                                                  _b(tr("✖ Cancel"), FlowCb(action="abort").pack())]])


def summary(tr: Tr, store: Store, products: Sequence[Product], data: dict[str, Any]) -> str:
    by_id = {product.id: product for product in products}
    cart = {int(pid): qty for pid, qty in data.get("cart", {}).items() if int(pid) in by_id}
    title = tr("Please check your order")
    lines = [f"<b>{title}</b>", f"{esc(store.name)} · {tr(KIND_LABELS[data['kind']])}", ""]
    lines += [f"{esc(by_id[pid].name)} × {qty} = {format_money(by_id[pid].price_minor * qty, store.currency)}"
              for pid, qty in cart.items()]
    amount = format_money(sum(by_id[pid].price_minor * qty for pid, qty in cart.items()), store.currency)
    lines.append(tr("Total: {amount}", amount=amount))
    zone = zone_of(store)
    booked = booking_moment(date.fromisoformat(data["date"]), data["time"], zone) if data.get("time") else None
    details = [
        (tr("Address"), data.get("address")), (tr("Phone"), data.get("phone")),
        (tr("Scheduled for"), local_time(booked, zone) if booked else None),
        (tr("Party size"), data.get("party")), (tr("Comment"), data.get("comment")),
    ]
    lines += [f"{label}: {esc(value)}" for label, value in details if value]
    return "\n".join(lines)
