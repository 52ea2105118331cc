"""Floods, odd content, stale and malformed buttons get a clear answer, and nothing is dropped."""

from __future__ import annotations

import pytest

from tests.bot.flows import hand_off, ticket_messages
from tests.botapi import TelegramServer


@pytest.mark.parametrize(("language", "notice"), [("en", "faster than we can read"),
                                                  ("ru", "быстрее, чем мы успеваем")])
async def test_flood_gets_one_polite_notice_and_every_message_is_stored(telegram: TelegramServer, desk_bot,
                                                                        sessions, language: str,
                                                                        notice: str) -> None:
    await desk_bot(customer_rate_per_minute=3)
    anna = telegram.user("Anna", language_code=language)
    ticket_id = await hand_off(telegram, anna, "/human", language)
    for n in range(8):
        await telegram.send(anna, f"message {n}")
    await telegram.settled(timeout=10)
    notices = [c for c in telegram.sent_to(anna.id) if notice in c.text]
    assert len(notices) == 1
    bodies = [m.body for m in await ticket_messages(sessions, ticket_id)]
    assert bodies == [f"message {n}" for n in range(8)]


@pytest.mark.parametrize(("language", "stale", "unknown"), [
    ("en", "no longer valid", "do not know this command"),
    ("ru", "больше не действует", "не знаю такой команды"),
])
async def test_malformed_and_stale_buttons_and_unknown_commands(telegram: TelegramServer, desk_bot,
                                                                language: str, stale: str, unknown: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    await telegram.send(anna, "/start")
    menu = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    for data in ("garbage", "kb:show:not-a-number", "r:1:9", "t:"):
        query_id = await telegram.press(anna, menu, data)
        answered = await telegram.wait_for_call("answerCallbackQuery",
                                                lambda c, q=query_id: c.params["callback_query_id"] == q)
        assert stale in answered.params["text"] and answered.params["show_alert"] is True
    for data in ("kb:show:999999", "kb:human:999999"):  # a deleted article: a domain error, answered
        query_id = await telegram.press(anna, menu, data)
        answered = await telegram.wait_for_call("answerCallbackQuery",
                                                lambda c, q=query_id: c.params["callback_query_id"] == q)
        assert answered.params.get("show_alert") and answered.params["text"] in (
            "This article is no longer available.", "That is no longer available.",
            "Эта статья больше недоступна.", "Это больше недоступно.")
    await telegram.settled()  # the update that failed with a domain error still counts as handled
    await telegram.send(anna, "/frobnicate")
    reply = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and unknown in c.text)
    assert reply


async def test_unsupported_content_is_explained_and_kept(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    await telegram.send(anna, dice={"emoji": "🎲", "value": 4})
    note = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "cannot be passed" in c.text)
    assert note
    await telegram.settled()
    stored = (await ticket_messages(sessions, ticket_id))[-1]
    assert stored.kind == "unsupported" and "dice" in stored.body


async def test_a_refused_file_type_is_noted(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code="ru")
    await hand_off(telegram, anna, "/human", "ru")
    await telegram.send_document(anna, b"MZ...", "setup.exe", "application/x-msdownload")
    note = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "setup.exe" in c.text)
    assert "не принят" in note.text


@pytest.mark.parametrize(("language", "phrase", "ask", "not_found"), [
    ("en", "where is my order?", "order number", "could not find order 1042"),
    ("ru", "статус заказа", "номер заказа", "не нашёл заказ 1042"),
])
async def test_order_status_intent_asks_for_the_number(telegram: TelegramServer, desk_bot, language: str,
                                                       phrase: str, ask: str, not_found: str) -> None:
    first = await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    await telegram.send(anna, phrase)
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and ask in c.text)
    mark = telegram.mark()
    await telegram.send(anna, "no idea!!")
    retry = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id, since=mark)
    assert "1042" in retry.text and not_found not in retry.text  # asked again, still waiting for a number
    await telegram.settled()
    await first.stop()  # the state is in PostgreSQL: another process continues the conversation
    await desk_bot()
    await telegram.send(anna, "#1042")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and not_found in c.text)


async def test_an_update_the_client_cannot_read_does_not_stop_polling(telegram: TelegramServer, desk_bot) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    broken_poll = {"id": "1", "question": "?", "options": [], "total_voter_count": 0}  # fields missing
    await telegram.send(anna, poll=broken_poll)
    await telegram.send(anna, "/start")
    greeting = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    assert greeting.text.startswith("Hello")
    await telegram.settled()
