"""The vocabulary of the desk and its one ticket transition table."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "ru")
DEFAULT_LANGUAGE: Final = "en"
ROLES: Final = ("admin", "operator", "partner")
STAFF_ROLES: Final = ("admin", "operator")

TICKET_STATUSES: Final = ("open", "in_progress", "waiting_customer", "closed")
PRIORITIES: Final = ("low", "medium", "high", "urgent")
CHANNEL_NAME_PATTERN: Final = "^[a-z][a-z0-9_]{0,15}$"  # a channel is any registered adapter's name
AUTHOR_KINDS: Final = ("customer", "operator", "bot", "system")
# none: inbound or internal; queued/sent/failed: outbound through the outbox.
DELIVERY_STATES: Final = ("none", "queued", "sent", "failed")
OUTBOX_STATES: Final = ("pending", "sending", "sent", "failed")
DEAD_LETTER_STATES: Final = ("failed", "retry", "resolved", "discarded")

TICKET_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "open": frozenset({"in_progress", "waiting_customer", "closed"}),
    "in_progress": frozenset({"open", "waiting_customer", "closed"}),
    "waiting_customer": frozenset({"open", "in_progress", "closed"}),
    "closed": frozenset({"open"}),
}

SEEDED_QUEUES: Final = (
    ("technical", "Technical support"),
    ("billing", "Billing"),
    ("logistics", "Logistics"),
    ("general", "General"),
    ("email", "Email"),
)


def normalize_language(code: str | None) -> str:
    """Telegram sends 'ru', 'ru-RU', 'en-GB'...; anything we do not speak falls back to English."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def ticket_transition_allowed(current: str, new: str) -> bool:
    return new in TICKET_TRANSITIONS.get(current, frozenset())
