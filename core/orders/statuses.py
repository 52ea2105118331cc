"""The one order transition table, keyed by order kind, and the rules around it."""

from __future__ import annotations

from typing import Final

from core.i18n import N_

ORDER_KINDS: Final = ("delivery", "pickup", "booking")
ORDER_STATUSES: Final = ("pending", "preparing", "ready", "delivering", "completed", "rejected", "cancelled")
PANEL_SOURCE: Final = "panel"  # an order entered by staff; any other source is a channel's name
TERMINAL: Final = frozenset({"completed", "rejected", "cancelled"})
OPEN_STATUSES: Final = tuple(s for s in ORDER_STATUSES if s not in TERMINAL)

# kind -> current status -> statuses it may move to. Cancelled is reachable from every open status
# (the customer only while pending, staff with a reason); rejected only from pending.
TRANSITIONS: Final[dict[str, dict[str, frozenset[str]]]] = {
    "delivery": {
        "pending": frozenset({"preparing", "rejected", "cancelled"}),
        "preparing": frozenset({"ready", "cancelled"}),
        "ready": frozenset({"delivering", "cancelled"}),
        "delivering": frozenset({"completed", "cancelled"}),
        "completed": frozenset(),
        "rejected": frozenset(),
        "cancelled": frozenset(),
    },
    "pickup": {
        "pending": frozenset({"preparing", "rejected", "cancelled"}),
        "preparing": frozenset({"ready", "cancelled"}),
        "ready": frozenset({"completed", "cancelled"}),
        "completed": frozenset(),
        "rejected": frozenset(),
        "cancelled": frozenset(),
    },
    "booking": {
        "pending": frozenset({"preparing", "rejected", "cancelled"}),
        "preparing": frozenset({"completed", "cancelled"}),
        "completed": frozenset(),
        "rejected": frozenset(),
        "cancelled": frozenset(),
    },
}

# Statuses that need a reason from whoever sets them (a customer cancelling while pending need not).
NEEDS_REASON: Final = frozenset({"rejected", "cancelled"})

REJECT_REASONS: Final = {
    "out_of_stock": N_("Out of stock"),
    "closed": N_("The store is closed"),
}

STATUS_LABELS: Final = {
    "pending": N_("New"),
    "preparing": N_("Accepted, preparing"),
    "ready": N_("Ready"),
    "delivering": N_("Out for delivery"),
    "completed": N_("Completed"),
    "rejected": N_("Rejected"),
    "cancelled": N_("Cancelled"),
}

KIND_LABELS: Final = {"delivery": N_("Delivery"), "pickup": N_("Pickup"), "booking": N_("Booking")}

# What the button that moves an order to a status says.
ACTION_LABELS: Final = {
    "preparing": N_("Accept"),
    "ready": N_("Ready"),
    "delivering": N_("Out for delivery"),
    "completed": N_("Completed"),
    "rejected": N_("Reject"),
    "cancelled": N_("Cancel order"),
}


def allowed_next(kind: str, current: str) -> frozenset[str]:
    return TRANSITIONS.get(kind, {}).get(current, frozenset())


def transition_allowed(kind: str, current: str, new: str) -> bool:
    return new in allowed_next(kind, current)


def staff_may_set(current: str, new: str) -> bool:
    """Staff reject a pending order rather than cancel it; cancelling is for accepted orders."""
    return not (new == "cancelled" and current == "pending")


def customer_may_set(current: str, new: str) -> bool:
    return new == "cancelled" and current == "pending"


def staff_actions(kind: str, current: str) -> list[str]:
    """The buttons a partner's alert shows: forward steps first, then reject/cancel."""
    order = {status: index for index, status in enumerate(ORDER_STATUSES)}
    allowed = [status for status in allowed_next(kind, current) if staff_may_set(current, status)]
    return sorted(allowed, key=lambda status: order[status])
