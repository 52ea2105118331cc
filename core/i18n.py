"""Translations: English source strings, gettext catalogs in locales/<lang>/LC_MESSAGES/*.po.

Each area (bot, panel, orders, mail...) keeps its own .po file so that work on one does not
collide with another; all files of a language are merged into one catalog at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from babel.support import Translations

from core.domain import DEFAULT_LANGUAGE, LANGUAGES, normalize_language

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def _noop(message: str) -> str:
    """Marks a string for extraction where it is defined, translated later where it is shown."""
    return message


N_ = _noop


@dataclass
class Translator:
    catalogs: dict[str, dict[str, str | tuple[str, ...]]] = field(default_factory=dict)

    def gettext(self, language: str, message: str, **params: object) -> str:
        text = self._lookup(language, message)
        if isinstance(text, tuple):
            text = text[0]
        return text.format(**params) if params else text

    def ngettext(self, language: str, singular: str, plural: str, n: int, **params: object) -> str:
        entry = self.catalogs.get(normalize_language(language), {}).get(singular)
        if isinstance(entry, tuple) and entry:
            text = entry[_plural_index(normalize_language(language), n, len(entry))]
        else:
            text = singular if n == 1 else plural
        return text.format(n=n, **params)

    def knows(self, message: str) -> bool:
        """Whether `message` is a marked text with translations (an English source string in a catalog)."""
        return any(message in catalog for catalog in self.catalogs.values())

    def _lookup(self, language: str, message: str) -> str | tuple[str, ...]:
        found = self.catalogs.get(normalize_language(language), {}).get(message)
        return found if found else message

    def for_language(self, language: str) -> Translations:
        """A gettext object for Jinja2's i18n extension."""
        translations = Translations()
        translations._catalog = dict(self.catalogs.get(normalize_language(language), {}))  # type: ignore[attr-defined,arg-type]
        return translations


def _plural_index(language: str, n: int, forms: int) -> int:
    if language == "ru" and forms >= 3:
        if n % 10 == 1 and n % 100 != 11:
            return 0
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return 1
        return 2
    return 0 if n == 1 else min(1, forms - 1)


def load_translator(locales_dir: Path = LOCALES_DIR) -> Translator:
    catalogs: dict[str, dict[str, str | tuple[str, ...]]] = {}
    for language in LANGUAGES:
        merged: dict[str, str | tuple[str, ...]] = {}
        for po_file in sorted((locales_dir / language / "LC_MESSAGES").glob("*.po")):
            merged.update(read_catalog(po_file))
        catalogs[language] = merged
    catalogs.setdefault(DEFAULT_LANGUAGE, {})
    return Translator(catalogs)


def read_catalog(po_file: Path) -> dict[str, str | tuple[str, ...]]:
    with po_file.open("rb") as handle:
        catalog = read_po(handle)
    result: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
        if isinstance(message.string, (list, tuple)):
            if all(message.string):
                result[key] = tuple(message.string)
        elif message.string:
            result[key] = message.string
    return result


TRANSLATOR_KEY = "translator"


@cache
def _default_translator() -> Translator:
    return load_translator()


def translator_of(session: Any) -> Translator:
    """The translator the session factory was given (`create_session_factory(..., translator=...)`), else
    the catalogs under `locales/` (a session built without one, as tests build them)."""
    found = session.info.get(TRANSLATOR_KEY)
    return found if isinstance(found, Translator) else _default_translator()


@dataclass(frozen=True)
class Tr:
    """A translator bound to one language: `tr("Hello, {name}", name=...)`, `tr.trn(one, many, n)`
    (`tr(...)` is what the extractor looks for). The dialogue binds it to the contact's language, the
    bot to the sender's."""

    translator: Translator
    language: str

    def __call__(self, message: str, **params: object) -> str:
        return self.translator.gettext(self.language, message, **params)

    def trn(self, singular: str, plural: str, n: int, **params: object) -> str:
        return self.translator.ngettext(self.language, singular, plural, n, **params)
