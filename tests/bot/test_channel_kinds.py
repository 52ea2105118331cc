"""The `text` kind other areas use, a refused message failing for good, a long article split."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core import outbox
from core.kb.articles import ArticleData, upsert_article
from core.models import OutboxItem
from tests.botapi import TelegramServer


async def outbox_row(sessions, key: str, state: str, timeout: float = 5.0) -> OutboxItem:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with sessions() as session:
            row = await session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))
        if row is not None and row.state == state:
            return row
        assert asyncio.get_running_loop().time() < deadline, f"outbox row {key} is {row and row.state}"
        await asyncio.sleep(0.05)


async def test_text_kind_sends_html_with_buttons_and_400_fails_for_good(telegram: TelegramServer, desk_bot,
                                                                        sessions) -> None:
    await desk_bot()
    partner = telegram.user("Pavel")
    async with sessions() as session, session.begin():
        await outbox.enqueue(session, channel="telegram", kind="text", idempotency_key="notice:1",
                             order_key=f"tg:{partner.id}",
                             payload={"chat_id": partner.id, "text": "<b>New order</b> #7",
                                      "buttons": [[{"text": "Accept", "callback_data": "o:7:accept"}],
                                                  [{"text": "Open", "url": "https://example.com/o/7"}]]})
        await outbox.enqueue(session, channel="telegram", kind="text", idempotency_key="notice:2",
                             order_key="tg:1", payload={"chat_id": 1, "text": "nobody is there"})
    sent = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == partner.id)
    assert sent.text == "<b>New order</b> #7" and sent.button("Accept")["callback_data"] == "o:7:accept"
    row = await outbox_row(sessions, "notice:1", "sent")
    assert row.result["external_id"] == sent.result["message_id"]
    failed = await outbox_row(sessions, "notice:2", "failed")
    assert failed.attempts == 1 and "chat not found" in failed.last_error


async def test_a_long_article_arrives_in_parts_under_the_limit(telegram: TelegramServer, desk_bot,
                                                               sessions) -> None:
    await desk_bot()
    body = "\n\n".join(f"**Step {n}.** Unplug the router & wait <10 s>, then plug it back. " * 6 for n in range(40))
    async with sessions() as session, session.begin():
        await upsert_article(session, ArticleData("router-reset", "Router reset guide", body, "en", ("net",)))
    anna = telegram.user("Anna")
    await telegram.send(anna, "router reset")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and bool(c.buttons))
    parts = telegram.sent_to(anna.id)
    assert len(parts) >= 3
    assert all(len(p.result["text"]) <= 4096 for p in parts)
    assert parts[0].text.startswith("<b>Router reset guide</b>") and "&lt;10 s&gt;" in parts[0].text
    assert not parts[0].buttons and parts[-1].button("This helped")


async def test_a_typing_hint_addressed_the_neutral_way_reaches_the_chat(telegram: TelegramServer, desk_bot,
                                                                       sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    async with sessions() as session, session.begin():
        await outbox.enqueue(session, channel="telegram", kind="chat_action", idempotency_key="typing:1:1",
                             order_key=f"typing:telegram:{anna.id}", payload={"address": str(anna.id),
                                                                              "action": "typing"})
    sent = await telegram.wait_for_call("sendChatAction", lambda c: c.chat_id == anna.id)
    assert sent.params["action"] == "typing"
    await outbox_row(sessions, "typing:1:1", "sent")
