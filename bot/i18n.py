"""The bot's language: core's `Tr` (a translator bound to one language) and how a sender's language is picked."""

from __future__ import annotations

from core.domain import normalize_language
from core.i18n import Tr

__all__ = ["Tr", "pick_language"]


def pick_language(contact_language: str | None, chosen: bool, telegram_code: str | None) -> str:
    """The contact's chosen language; else Telegram's language_code (ru/en); else English."""
    if chosen and contact_language:
        return normalize_language(contact_language)
    return normalize_language(telegram_code or contact_language)
