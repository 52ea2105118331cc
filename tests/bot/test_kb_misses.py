"""Missed questions recorded by the real dialogue (aiogram client, fake Bot API): no article, "did not
help", a handoff right after an answer; a helpful vote is kept under its question and is no miss."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Article, ArticleFeedback, KbMiss
from tests.bot.flows import TOPIC_LABEL
from tests.botapi import TelegramServer

pytestmark = pytest.mark.usefixtures("kb")


async def _misses(sessions) -> list[tuple[str, str, str, str | None]]:
    async with sessions() as session:
        rows = (await session.execute(
            select(KbMiss.language, KbMiss.question, KbMiss.outcome, Article.title)
            .outerjoin(Article, Article.id == KbMiss.article_id).order_by(KbMiss.id))).all()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(("language", "question", "reply"), [
    ("en", "do you sell bicycles?", "could not find"),
    ("ru", "продаёте ли вы велосипеды?", "не нашёл"),
])
async def test_a_question_without_an_answer_is_recorded(telegram: TelegramServer, desk_bot, sessions,
                                                         language: str, question: str, reply: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    await telegram.send(anna, question)
    answer = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    assert reply in answer.text
    await telegram.settled()
    assert await _misses(sessions) == [(language, question, "miss", None)]
    async with sessions() as session:
        key = await session.scalar(select(KbMiss.question_key))
    assert ("bicycl" if language == "en" else "велосипед") in key


async def test_did_not_help_is_recorded_with_its_article(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    await telegram.send(anna, "how do I reset my password?")
    answer = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    mark = telegram.mark()
    await telegram.press(anna, answer, answer.button("Talk to a human")["callback_data"])
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "What is it about" in c.text,
                                 since=mark)
    await telegram.settled()
    assert await _misses(sessions) == [
        ("en", "how do I reset my password?", "not_helped", "How to reset your password")]
    async with sessions() as session:
        [vote] = (await session.scalars(select(ArticleFeedback))).all()
    assert (vote.helpful, vote.query, vote.question_key) == (False, "how do I reset my password?", "password reset")


async def test_a_handoff_right_after_an_answer_is_recorded_once(telegram: TelegramServer, desk_bot,
                                                                 sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code="ru")
    await telegram.send(anna, "как сбросить пароль")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "Как сбросить пароль" in c.text)
    mark = telegram.mark()
    await telegram.send(anna, "/human")
    topics = await telegram.wait_for_call(
        "sendMessage", lambda c: c.chat_id == anna.id and any(b["callback_data"].startswith("t:") for b in c.buttons),
        since=mark)
    await telegram.press(anna, topics, topics.button(TOPIC_LABEL["ru"])["callback_data"])
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "#" in c.text, since=mark)
    await telegram.settled()
    assert await _misses(sessions) == [("ru", "как сбросить пароль", "handoff", "Как сбросить пароль")]


async def test_a_helpful_answer_is_no_miss_and_its_vote_keeps_the_question(telegram: TelegramServer, desk_bot,
                                                                           sessions) -> None:
    await desk_bot()
    anna = telegram.user("Anna")
    await telegram.send(anna, "reset password please")
    answer = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    query_id = await telegram.press(anna, answer, answer.button("This helped")["callback_data"])
    await telegram.wait_for_call("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)
    await telegram.settled()
    assert await _misses(sessions) == []
    async with sessions() as session:
        [vote] = (await session.scalars(select(ArticleFeedback))).all()
    assert (vote.helpful, vote.question_key) == (True, "password pleas reset")
