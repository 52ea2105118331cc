"""The one place order texts for Telegram are written: partner alerts and customer notices (HTML)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from functools import partial
from html import escape
from typing import Any

from core.i18n import N_, Translator
from core.models import Order, OrderItem
from core.orders.money import format_money
from core.orders.statuses import ACTION_LABELS, KIND_LABELS, REJECT_REASONS, STATUS_LABELS, staff_actions

CALLBACK_PREFIX = "ord"

# What the customer is told at each transition; bookings and pickups say it their own way.
_NOTICES: dict[tuple[str, str], str] = {
    ("preparing", "*"): N_("Your order #{number} has been accepted and is being prepared."),
    ("preparing", "booking"): N_("Your booking #{number} is confirmed."),
    ("ready", "*"): N_("Your order #{number} is ready."),
    ("ready", "pickup"): N_("Your order #{number} is ready for pickup."),
    ("delivering", "*"): N_("Your order #{number} is on its way."),
    ("completed", "*"): N_("Your order #{number} is completed. Thank you!"),
    ("completed", "booking"): N_("Your booking #{number} is completed. Thank you for visiting!"),
    ("rejected", "*"): N_("Sorry, the store could not take your order #{number}. Reason: {reason}"),
    ("cancelled", "*"): N_("Your order #{number} has been cancelled. Reason: {reason}"),
    ("cancelled", "customer"): N_("Your order #{number} has been cancelled as you asked."),
}


def action_callback(order_id: int, current: str, target: str) -> str:
    """Callback data of an alert button. It names the status it was drawn for, so a press on an
    old alert is recognised (and refused) instead of moving the order twice."""
    return f"{CALLBACK_PREFIX}:{order_id}:{current}:{target}"


def status_label(translator: Translator, language: str, status: str) -> str:
    return translator.gettext(language, STATUS_LABELS[status])


def reason_text(translator: Translator, language: str, reason: str | None) -> str:
    if not reason:
        return "—"
    return translator.gettext(language, REJECT_REASONS[reason]) if reason in REJECT_REASONS else reason


def customer_notice(translator: Translator, order: Order, *, by_customer: bool = False) -> str | None:
    status, kind = order.status, order.kind
    template = (
        (_NOTICES.get((status, "customer")) if by_customer else None)
        or _NOTICES.get((status, kind))
        or _NOTICES.get((status, "*"))
    )
    if template is None:
        return None
    reason = escape(reason_text(translator, order.language, order.reason))
    return translator.gettext(order.language, template, number=order.id, reason=reason)


def local_time(value: datetime | None, zone: tzinfo) -> str:
    """'24.11.2026 19:00 MSK': in the store's local time, its zone named."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    return f"{local:%d.%m.%Y %H:%M} {local.tzname()}"


def item_lines(order: Order, items: Sequence[OrderItem]) -> list[str]:
    return [
        f"{item.quantity} × {escape(item.name)} — {format_money(item.unit_price_minor * item.quantity, order.currency)}"
        for item in items
    ]


def alert_text(
    translator: Translator, language: str, order: Order, items: Sequence[OrderItem], last_actor: str | None,
    zone: tzinfo = UTC,
) -> str:
    """A partner's alert: what, how much, for whom; phone and address only once accepted."""
    tr = partial(translator.gettext, language)
    first_name = order.customer_name.split(" ")[0] if order.customer_name else "—"
    title = tr("Order #{number}", number=order.id)
    rows: list[tuple[str, str]] = [
        (tr("Status"), f"<b>{status_label(translator, language, order.status)}</b>"),
        (tr("Total"), f"<b>{format_money(order.total_minor, order.currency)}</b>"),
        (tr("Customer"), escape(first_name)),
        (tr("Created"), local_time(order.created_at, zone)),
        (tr("Scheduled for"), local_time(order.scheduled_at, zone)),
        (tr("Party size"), str(order.party_size or "")),
        (tr("Comment"), escape(order.comment)),
    ]
    if order.accepted_at is not None:
        rows += [(tr("Phone"), escape(order.customer_phone)), (tr("Address"), escape(order.address))]
    if order.reason:
        rows.append((tr("Reason"), escape(reason_text(translator, language, order.reason))))
    lines = [f"<b>{title}</b> · {tr(KIND_LABELS[order.kind])}", "", *item_lines(order, items), ""]
    lines += [f"{label}: {value}" for label, value in rows if value]
    if last_actor:
        lines.append("<i>" + tr("Last action by {name}", name=escape(last_actor)) + "</i>")
    return "\n".join(lines)


def alert_buttons(translator: Translator, language: str, order: Order) -> list[list[dict[str, Any]]]:
    """One row per action the transition table allows from the order's current status."""
    return [
        [{"text": translator.gettext(language, ACTION_LABELS[target]),
          "callback_data": action_callback(order.id, order.status, target)}]
        for target in staff_actions(order.kind, order.status)
    ]


def reminder_text(translator: Translator, language: str, order: Order, minutes: int) -> str:
    return translator.gettext(
        language, "Reminder: order #{number} has been waiting for {minutes} min.", number=order.id, minutes=minutes
    )


def escalation_text(translator: Translator, language: str, order: Order, store_name: str, minutes: int) -> str:
    return translator.gettext(
        language,
        "Order #{number} at {store} is still not accepted after {minutes} min.",
        number=order.id, store=escape(store_name), minutes=minutes,
    )
