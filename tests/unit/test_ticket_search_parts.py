"""The search's matched line as parts (core.services.ticket_search): markers split, substring hits cut
around the hit, ticket numbers read."""

from core.services.ticket_search import START, STOP, _around, _split, ticket_number


def test_headline_markers_become_marked_parts() -> None:
    assert _split(f"Где {START}курьер{STOP} <b>?") == [("Где ", False), ("курьер", True), (" <b>?", False)]


def test_a_substring_hit_is_cut_around_and_marked_case_blind() -> None:
    body = "x" * 300 + " call +7 900 123-45-67 now " + "y" * 300
    parts = _around(body, "123-45-67")
    assert [text for text, hit in parts if hit] == ["123-45-67"]
    assert parts[0][0].startswith("…") and parts[-1][0].endswith("…")
    assert sum(len(text) for text, _ in parts) < 260
    assert _around("Mail IVAN@example.org", "ivan@") == [("Mail ", False), ("IVAN@", True), ("example.org", False)]


def test_ticket_numbers() -> None:
    assert ticket_number("#123") == 123 and ticket_number(" 42 ") == 42
    assert ticket_number("12a") is None and ticket_number("#") is None
