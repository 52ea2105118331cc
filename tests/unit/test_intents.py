from __future__ import annotations

import pytest

from core.intents import load_intents


@pytest.mark.parametrize(("text", "intent"), [
    ("Хочу поговорить с человеком", "human"), ("operator", "human"), ("/human", "human"),
    ("позовите оператора!", "human"), ("статус заказа", "order_status"), ("Where is my order?", "order_status"),
    ("/order@desk_test_bot", "order_status"), ("how do I reset my password", None),
    ("the operator told me yesterday that my refund would arrive but nothing happened since", None),
])
def test_intents_match_phrases_from_data(text: str, intent: str | None) -> None:
    assert load_intents().match(text) == intent
