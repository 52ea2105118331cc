import itertools

import pytest

from core.domain import TICKET_STATUSES, TICKET_TRANSITIONS, normalize_language, ticket_transition_allowed

ALLOWED = {
    ("open", "in_progress"), ("open", "waiting_customer"), ("open", "closed"),
    ("in_progress", "open"), ("in_progress", "waiting_customer"), ("in_progress", "closed"),
    ("waiting_customer", "open"), ("waiting_customer", "in_progress"), ("waiting_customer", "closed"),
    ("closed", "open"),
}


@pytest.mark.parametrize(("current", "new"), list(itertools.permutations(TICKET_STATUSES, 2)))
def test_every_ticket_transition_is_allowed_or_refused_as_specified(current: str, new: str) -> None:
    assert ticket_transition_allowed(current, new) is ((current, new) in ALLOWED)


def test_transition_table_covers_every_status() -> None:
    assert set(TICKET_TRANSITIONS) == set(TICKET_STATUSES)


def test_unknown_status_is_refused() -> None:
    assert not ticket_transition_allowed("open", "deleted")
    assert not ticket_transition_allowed("archived", "open")


@pytest.mark.parametrize(
    ("code", "expected"), [("ru", "ru"), ("ru-RU", "ru"), ("en-GB", "en"), ("de", "en"), (None, "en")]
)
def test_telegram_language_falls_back_to_english(code: str | None, expected: str) -> None:
    assert normalize_language(code) == expected
