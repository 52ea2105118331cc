"""What the bot answered before the handoff starts the ticket: the customer's messages and the bot's
answers to them, in order; and a conversation that was choosing a topic when this version started
(its step and messages in aiogram's FSM) goes on in core's dialogue state."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.models import FsmState, Ticket
from tests.bot.flows import TOPIC_LABEL, ticket_messages
from tests.botapi import TelegramServer

pytestmark = pytest.mark.usefixtures("kb")


async def opened_ticket(telegram: TelegramServer, user, mark) -> int:  # type: ignore[no-untyped-def]
    opened = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == user.id and "is open" in c.text,
                                          since=mark)
    await telegram.settled()
    return int(opened.text.split("#")[1].split()[0].rstrip("."))


async def test_the_article_and_did_not_help_start_the_ticket(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    mark = telegram.mark()
    await telegram.send(anna, "how do I reset my password?")
    answer = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id, since=mark)
    await telegram.press(anna, answer, answer.button("Talk to a human")["callback_data"])
    topics = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and len(c.buttons) == 4,
                                          since=mark)
    await telegram.send(anna, "and the e-mail never came")  # while choosing: kept too
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "choose a topic" in c.text,
                                 since=mark)
    await telegram.press(anna, topics, topics.button(TOPIC_LABEL["en"])["callback_data"])
    ticket_id = await opened_ticket(telegram, anna, mark)
    messages = await ticket_messages(sessions, ticket_id)
    assert [(m.author_kind, m.body) for m in messages] == [
        ("customer", "how do I reset my password?"),
        ("bot", "Answered with the article «How to reset your password»"),
        ("bot", "The article «How to reset your password» did not help"),
        ("customer", "and the e-mail never came"),
    ]
    assert messages[1].meta == {"line": "bot_article", "params": {"title": "How to reset your password"}}
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.subject == "how do I reset my password?"


async def test_suggestions_and_the_article_picked_are_in_the_transcript(telegram: TelegramServer, desk_bot,
                                                                       sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    mark = telegram.mark()
    await telegram.send(anna, "account")
    suggestions = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id, since=mark)
    picked = next(b for b in suggestions.buttons if b["text"].startswith("📄"))
    await telegram.press(anna, suggestions, picked["callback_data"])
    shown = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and c.text.startswith("<b>"),
                                         since=mark)
    await telegram.press(anna, shown, "m:human")
    topics = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and len(c.buttons) == 4,
                                          since=mark)
    await telegram.press(anna, topics, topics.buttons[0]["callback_data"])
    messages = await ticket_messages(sessions, await opened_ticket(telegram, anna, mark))
    kinds = [(m.author_kind, m.meta.get("line")) for m in messages]
    assert kinds == [("customer", None), ("bot", "bot_suggested"), ("bot", "bot_article_shown")]
    title = picked["text"].removeprefix("📄 ")
    assert title in messages[1].body and messages[2].body == f"Showed the article «{title}»"


async def test_the_transcript_keeps_the_last_ten_turns(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    mark = telegram.mark()
    for n in range(7):  # each a miss: the customer's turns only
        await telegram.send(anna, f"zzqx vvkq {n}")
    await telegram.wait_until(lambda: len(telegram.sent_to(anna.id)) >= 7)
    await telegram.send(anna, "/human")
    topics = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and len(c.buttons) == 4,
                                          since=mark)
    for n in range(5):
        await telegram.send(anna, f"meanwhile {n}")
    await telegram.settled()
    await telegram.press(anna, topics, topics.buttons[0]["callback_data"])
    messages = await ticket_messages(sessions, await opened_ticket(telegram, anna, mark))
    assert [m.body for m in messages] == [f"zzqx vvkq {n}" for n in range(2, 7)] + [
        f"meanwhile {n}" for n in range(5)]


async def test_a_topic_choice_begun_before_the_upgrade_goes_on(telegram: TelegramServer, desk_bot,
                                                               sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    mark = telegram.mark()
    await telegram.send(anna, "/start")  # the contact exists
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id, since=mark)
    raw = {"message_id": 1, "date": 1700000000, "chat": {"id": anna.id, "type": "private"},
           "from": {"id": anna.id, "is_bot": False, "first_name": "Anna"}, "text": "my order is late"}
    async with sessions() as session, session.begin():
        session.add(FsmState(key=f"{telegram.bot_id}:{anna.id}:{anna.id}:0:default", state="Support:choosing_topic",
                             data=json.loads(json.dumps({"pending": [raw]}))))
    await telegram.send(anna, "hello?")
    again = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "choose a topic" in c.text,
                                         since=mark)
    await telegram.press(anna, again, again.buttons[0]["callback_data"])
    ticket_id = await opened_ticket(telegram, anna, mark)
    assert [m.body for m in await ticket_messages(sessions, ticket_id)] == ["my order is late", "hello?"]
    async with sessions() as session:
        legacy = await session.scalar(select(FsmState).where(FsmState.key.startswith(f"{telegram.bot_id}:")))
        assert legacy is not None and legacy.state is None and "pending" not in legacy.data
