"""Closing: the customer is asked for a 1-5 rating (and a comment); a later message reopens within
the window, and starts over after it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from core.models import Ticket, TicketRating
from core.services.tickets import change_status
from tests.bot.flows import hand_off, the_ticket, ticket_messages
from tests.botapi import TelegramServer
from tests.contacts import contact_of_telegram_user


@pytest.mark.parametrize(("language", "closed_text", "comment_ack"), [
    ("en", "is closed", "Thank you for the feedback!"),
    ("ru", "закрыта", "Спасибо за отзыв!"),
])
async def test_operator_closes_and_customer_rates_with_comment(telegram: TelegramServer, desk_bot, sessions,
                                                               operator, language: str, closed_text: str,
                                                               comment_ack: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    ticket_id = await hand_off(telegram, anna, "/human", language)
    async with sessions() as session, session.begin():
        await change_status(session, ticket_id, "closed", actor_kind="operator", actor_id=operator.id)
    asked = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and closed_text in c.text)
    assert len(asked.buttons) == 5
    await telegram.press(anna, asked, asked.buttons[3]["callback_data"])  # 4 stars
    ask_comment = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "4/5" in c.text)
    assert ask_comment.buttons
    await telegram.send(anna, "quick and polite")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and c.text == comment_ack)
    await telegram.settled()
    async with sessions() as session:
        rating = await session.get(TicketRating, ticket_id)
        assert (rating.score, rating.comment) == (4, "quick and polite")
    assert (await the_ticket(sessions, ticket_id)).status == "closed"  # the comment did not reopen it


async def test_customer_closes_with_command_and_a_message_reopens(telegram: TelegramServer, desk_bot,
                                                                  sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code="ru")
    ticket_id = await hand_off(telegram, anna, "/human", "ru")
    await telegram.send(anna, "/close")
    asked = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "закрыта" in c.text)
    await telegram.settled()
    assert (await the_ticket(sessions, ticket_id)).status == "closed"
    await telegram.send(anna, "ой, ещё вопрос")
    reopened = await telegram.wait_for_call("sendMessage",
                                            lambda c: c.chat_id == anna.id and "снова открыта" in c.text)
    assert f"#{ticket_id}" in reopened.text
    await telegram.settled()
    assert (await the_ticket(sessions, ticket_id)).status == "open"
    assert (await ticket_messages(sessions, ticket_id))[-1].body == "ой, ещё вопрос"
    await telegram.press(anna, asked, asked.buttons[0]["callback_data"])  # rating an open ticket: stale
    query = await telegram.wait_for_call("answerCallbackQuery", lambda c: c.params.get("show_alert"))
    assert "нельзя оценить" in query.params["text"]


async def test_after_the_window_a_message_starts_over(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot(reopen_window_hours=1)
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    await telegram.send(anna, "/close")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "is closed" in c.text)
    await telegram.settled()
    async with sessions() as session, session.begin():
        await session.execute(update(Ticket).values(closed_at=func.now() - func.make_interval(0, 0, 0, 0, 2)))
    mark = telegram.mark()
    second = await hand_off(telegram, anna, "/human")
    assert second != ticket_id
    assert all("open again" not in c.text for c in telegram.sent_to(anna.id)[mark:])
    async with sessions() as session:
        statuses = (await session.execute(select(Ticket.id, Ticket.status).order_by(Ticket.id))).all()
    assert [tuple(s) for s in statuses] == [(ticket_id, "closed"), (second, "open")]


async def test_close_button_closes_the_ticket(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    opened = next(c for c in reversed(telegram.sent_to(anna.id)) if f"#{ticket_id}" in c.text)
    await telegram.press(anna, opened, opened.button("Close")["callback_data"])
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "is closed" in c.text)
    await telegram.press(anna, opened, opened.button("Close")["callback_data"])  # pressed again: stale
    stale = await telegram.wait_for_call("answerCallbackQuery", lambda c: c.params.get("show_alert"))
    assert "already closed" in stale.params["text"]


async def test_a_blocked_customer_is_marked_by_the_rating_request_too(telegram: TelegramServer, desk_bot,
                                                                      sessions, operator) -> None:

    await desk_bot()
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    telegram.fail("sendMessage", 403, times=None, match=lambda p: p.get("chat_id") == anna.id)
    async with sessions() as session, session.begin():
        await change_status(session, ticket_id, "closed", actor_kind="operator", actor_id=operator.id)
    await telegram.wait_for_call("sendMessage", lambda c: c.status == 403, ok_only=False)
    for _ in range(100):
        async with sessions() as session:
            contact = await contact_of_telegram_user(session, anna.id)
        if contact.blocked:
            break
        await asyncio.sleep(0.05)
    assert contact.blocked
