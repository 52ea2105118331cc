"""Numbers, durations and times as an operator reads them, in their language: "1 h 23 min" / "1 ч 23 мин",
"5 minutes ago" / "5 минут назад", "0.5" / "0,5", and "—" where there is nothing to show.

The panel's script formats the same way in the browser (`Intl.RelativeTimeFormat`, `Intl.NumberFormat`)
and takes its duration units from `duration_units` (the page carries them), so both agree."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_timedelta
from babel.numbers import format_decimal

from core.domain import DEFAULT_LANGUAGE, LANGUAGES

NO_DATA = "—"

# Abbreviated units (CLDR's short forms read "hr"/"sec" in English; operators asked for "h"/"s").
UNITS: dict[str, dict[str, str]] = {
    "en": {"d": "d", "h": "h", "min": "min", "s": "s"},
    "ru": {"d": "д", "h": "ч", "min": "мин", "s": "с"},
}
JUST_NOW = {"en": "just now", "ru": "только что"}


def _language(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def duration_units(language: str | None) -> dict[str, str]:
    """The units `duration` writes, plus "now" (what `relative` says under 45 s), for the panel's script."""
    return {**UNITS[_language(language)], "now": JUST_NOW[_language(language)]}


def duration(seconds: float | None, language: str | None, *, parts: int = 2) -> str:
    """A span as its two largest units, rounded down: 5000 s is "1 h 23 min" ("1 ч 23 мин"); under a
    minute it is seconds ("45 s"); None is "—". A negative span reads as its size (callers say "overdue")."""
    if seconds is None:
        return NO_DATA
    units = UNITS[_language(language)]
    left = int(abs(seconds))
    if left < 60:
        return f"{left} {units['s']}"
    pieces: list[tuple[int, str]] = []
    for key, size in (("d", 86400), ("h", 3600), ("min", 60)):
        count, left = divmod(left, size)
        if count or pieces:
            pieces.append((count, key))
    shown = [f"{count} {units[key]}" for count, key in pieces[:parts] if count]
    return " ".join(shown)


def number(value: float | int | None, language: str | None, *, digits: int = 1) -> str:
    """A figure in the language's notation (1,234.5 / 1 234,5), at most `digits` decimals; None is "—"."""
    if value is None:
        return NO_DATA
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(round(value, digits), format=pattern, locale=_language(language))


def relative(moment: datetime | None, now: datetime, language: str | None) -> str:
    """How long ago (or until) `moment` is: "5 minutes ago" / "5 минут назад", "in 2 hours"; None is "—"."""
    if moment is None:
        return NO_DATA
    delta: timedelta = moment - now
    if abs(delta) < timedelta(seconds=45):
        return JUST_NOW[_language(language)]
    return format_timedelta(delta, add_direction=True, threshold=1, locale=_language(language))
