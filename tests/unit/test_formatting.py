"""Durations, figures and relative times as operators read them, in English and Russian."""

from datetime import UTC, datetime, timedelta

import pytest

from core.formatting import NO_DATA, duration, number, relative

NBSP = ("\u00a0", "\u202f")


def plain(text: str) -> str:
    for space in NBSP:
        text = text.replace(space, " ")
    return text


@pytest.mark.parametrize(("seconds", "en", "ru"), [
    (5000, "1 h 23 min", "1 ч 23 мин"),
    (1439 * 60, "23 h 59 min", "23 ч 59 мин"),
    (3600, "1 h", "1 ч"),
    (45, "45 s", "45 с"),
    (0, "0 s", "0 с"),
    (86400 + 7200 + 59, "1 d 2 h", "1 д 2 ч"),
    (86400 + 59, "1 d", "1 д"),
    (-300, "5 min", "5 мин"),
    (None, NO_DATA, NO_DATA),
])
def test_durations_in_both_languages(seconds: float | None, en: str, ru: str) -> None:
    assert duration(seconds, "en") == en
    assert duration(seconds, "ru") == ru
    assert "m" not in duration(seconds, "ru")  # no Latin unit in Russian ("1439m" was)


def test_an_unknown_language_reads_english() -> None:
    assert duration(5000, "de") == "1 h 23 min"


@pytest.mark.parametrize(("value", "en", "ru"), [
    (0.1, "0.1", "0,1"),
    (1234.56, "1,234.6", "1 234,6"),
    (3, "3", "3"),
    (2.0, "2", "2"),
    (None, NO_DATA, NO_DATA),
])
def test_figures_in_the_languages_notation(value: float | None, en: str, ru: str) -> None:
    assert plain(number(value, "en")) == en
    assert plain(number(value, "ru")) == ru


def test_relative_times() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert relative(now - timedelta(minutes=5), now, "en") == "5 minutes ago"
    assert relative(now - timedelta(minutes=5), now, "ru") == "5 минут назад"
    assert relative(now - timedelta(days=3), now, "ru") == "3 дня назад"
    assert relative(now + timedelta(hours=2), now, "en") == "in 2 hours"
    assert relative(now - timedelta(seconds=10), now, "en") == "just now"
    assert relative(now - timedelta(seconds=10), now, "ru") == "только что"
    assert relative(None, now, "ru") == NO_DATA
