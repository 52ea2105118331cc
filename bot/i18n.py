"""The bot's translator bound to one language: `tr("Hello, {name}", name=...)`, `tr.trn(one, many, n)`."""

from __future__ import annotations

from dataclasses import dataclass

from core.domain import normalize_language
from core.i18n import Translator


@dataclass(frozen=True)
class Tr:
    translator: Translator
    language: str

    def __call__(self, message: str, **params: object) -> str:
        return self.translator.gettext(self.language, message, **params)

    def trn(self, singular: str, plural: str, n: int, **params: object) -> str:
        return self.translator.ngettext(self.language, singular, plural, n, **params)


def pick_language(contact_language: str | None, chosen: bool, telegram_code: str | None) -> str:
    """The contact's chosen language; else Telegram's language_code (ru/en); else English."""
    if chosen and contact_language:
        return normalize_language(contact_language)
    return normalize_language(telegram_code or contact_language)
