"""Checkout keyboards and texts: kind, booking date/time/party pickers, the summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
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
from core.orders.statuses import KIND_LABELS, ORDER_KINDS

DAYS_AHEAD = 7
FIRST_HOUR, LAST_HOUR = 10, 21
PARTY_SIZES = (1, 2, 3, 4, 5, 6, 8, 10)


def _b(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def kinds(tr: Tr) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(tr(KIND_LABELS[kind]), KindCb(kind=kind).pack())]
                                                 for kind in ORDER_KINDS])


def slots(day: date, now: datetime) -> list[str]:
    return [f"{hour:02d}:00" for hour in range(FIRST_HOUR, LAST_HOUR + 1)
            if datetime.combine(day, time(hour), UTC) > now + timedelta(minutes=30)]


def dates(now: datetime) -> InlineKeyboardMarkup:
    days = [now.date() + timedelta(days=n) for n in range(DAYS_AHEAD)]
    buttons = [_b(day.strftime("%d.%m"), SlotCb(field="date", value=day.isoformat()).pack())
               for day in days if slots(day, now)]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i:i + 4] for i in range(0, len(buttons), 4)])


def times(day: date, now: datetime) -> InlineKeyboardMarkup:
    # ":" separates callback fields, so the value travels as "HHMM".
    buttons = [_b(slot, SlotCb(field="time", value=slot.replace(":", "")).pack()) for slot in slots(day, now)]
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
    details = [
        (tr("Address"), data.get("address")), (tr("Phone"), data.get("phone")),
        (tr("Scheduled for"), f"{data['date']} {data['time']} UTC" if data.get("time") else None),
        (tr("Party size"), data.get("party")), (tr("Comment"), data.get("comment")),
    ]
    lines += [f"{label}: {esc(value)}" for label, value in details if value]
    return "\n".join(lines)
