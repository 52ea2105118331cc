import itertools

import pytest

from core.orders.statuses import (
    ORDER_KINDS,
    ORDER_STATUSES,
    TRANSITIONS,
    customer_may_set,
    staff_actions,
    transition_allowed,
)

FLOWS = {
    "delivery": ["pending", "preparing", "ready", "delivering", "completed"],
    "pickup": ["pending", "preparing", "ready", "completed"],
    "booking": ["pending", "preparing", "completed"],
}


def expected_allowed(kind: str) -> set[tuple[str, str]]:
    flow = FLOWS[kind]
    allowed = set(itertools.pairwise(flow))
    allowed.add(("pending", "rejected"))
    allowed |= {(status, "cancelled") for status in flow[:-1]}
    return allowed


@pytest.mark.parametrize("kind", ORDER_KINDS)
def test_every_pair_is_allowed_or_refused_as_the_issue_says(kind: str) -> None:
    allowed = expected_allowed(kind)
    for current, new in itertools.permutations(ORDER_STATUSES, 2):
        assert transition_allowed(kind, current, new) is ((current, new) in allowed), (kind, current, new)


def test_delivering_exists_only_for_delivery() -> None:
    assert "delivering" in TRANSITIONS["delivery"]
    assert "delivering" not in TRANSITIONS["pickup"]
    assert "delivering" not in TRANSITIONS["booking"]


def test_unknown_kind_or_status_is_refused() -> None:
    assert not transition_allowed("catering", "pending", "preparing")
    assert not transition_allowed("delivery", "pending", "shipped")
    assert not transition_allowed("delivery", "archived", "pending")


def test_staff_buttons_follow_the_table_and_reject_instead_of_cancel_while_pending() -> None:
    assert staff_actions("delivery", "pending") == ["preparing", "rejected"]
    assert staff_actions("delivery", "ready") == ["delivering", "cancelled"]
    assert staff_actions("pickup", "ready") == ["completed", "cancelled"]
    assert staff_actions("booking", "preparing") == ["completed", "cancelled"]
    assert staff_actions("delivery", "completed") == []


def test_customer_may_only_cancel_while_pending() -> None:
    assert customer_may_set("pending", "cancelled")
    assert not customer_may_set("preparing", "cancelled")
    assert not customer_may_set("pending", "preparing")
