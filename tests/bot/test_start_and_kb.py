"""/start, the menu, languages and knowledge-base answers, through the real aiogram client."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Article, ArticleFeedback
from tests.botapi import TelegramServer
from tests.contacts import contact_of_telegram_user

pytestmark = pytest.mark.usefixtures("kb")


@pytest.mark.parametrize(("language", "greeting", "menu_button"), [
    ("en", "Hello, Anna!", "Ask a question"),
    ("ru", "Здравствуйте, Anna!", "Задать вопрос"),
    ("de", "Hello, Anna!", "Ask a question"),
])
async def test_start_greets_in_telegram_language_with_menu(telegram: TelegramServer, desk_bot, language: str,
                                                           greeting: str, menu_button: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    await telegram.send(anna, "/start")
    reply = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    assert reply.text.startswith(greeting)
    assert reply.button(menu_button)
    commands = telegram.commands
    assert {c["command"] for c in commands[("default", "")]} >= {"start", "help", "language", "human", "close"}
    assert commands[("default", "ru")][0]["description"] == "Открыть меню"


async def test_language_switch_is_remembered(telegram: TelegramServer, desk_bot, sessions) -> None:
    await desk_bot()
    ivan = telegram.user("Ivan", language_code="en")
    await telegram.send(ivan, "/language")
    choose = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == ivan.id)
    await telegram.press(ivan, choose, choose.button("Русский")["callback_data"])
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == ivan.id and "по-русски" in c.text)
    mark = telegram.mark()
    await telegram.send(ivan, "/help")
    help_ = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == ivan.id, since=mark)
    assert "Команды" in help_.text
    async with sessions() as session:
        contact = await contact_of_telegram_user(session, ivan.id)
        assert contact.language == "ru" and contact.language_chosen


@pytest.mark.parametrize(("language", "question", "title", "helped"), [
    ("en", "how do I reset my password?", "How to reset your password", "This helped"),
    ("ru", "как сбросить пароль", "Как сбросить пароль", "Это помогло"),
])
async def test_kb_hit_with_feedback(telegram: TelegramServer, desk_bot, sessions, language: str, question: str,
                                    title: str, helped: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    await telegram.send(anna, question)
    answer = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    assert answer.text.startswith(f"<b>{title}</b>")
    assert answer.button(helped)
    related = [b for b in answer.buttons if b["text"].startswith("📄")]
    assert 1 <= len(related) <= 3
    query_id = await telegram.press(anna, answer, answer.button(helped)["callback_data"])
    await telegram.wait_for_call("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)
    await telegram.press(anna, answer, answer.button(helped)["callback_data"])  # a double press counts once
    await telegram.wait_until(lambda: len(telegram.answered_callbacks) == 2)
    async with sessions() as session:
        article = await session.scalar(select(Article).where(Article.title == title))
        assert (article.helpful_count, article.not_helpful_count) == (1, 0)
        votes = (await session.scalars(select(ArticleFeedback))).all()
        assert [(v.article_id, v.helpful) for v in votes] == [(article.id, True)]


@pytest.mark.parametrize(("language", "typo", "title"), [
    ("en", "pasword resett", "How to reset your password"),
    ("ru", "сбросить пороль", "Как сбросить пароль"),
])
async def test_a_typo_still_matches(telegram: TelegramServer, desk_bot, language: str, typo: str, title: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    await telegram.send(anna, typo)
    answer = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    assert title in answer.text or any(title in b["text"] for b in answer.buttons)


async def test_my_tickets_lists_the_customers_tickets(telegram: TelegramServer, desk_bot) -> None:
    from tests.bot.flows import hand_off

    await desk_bot()
    anna = telegram.user("Anna", language_code="ru")
    ticket_id = await hand_off(telegram, anna, "/human", "ru")
    await telegram.send(anna, "/start")
    menu = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "Здравствуйте" in c.text)
    await telegram.press(anna, menu, menu.button("Мои заявки")["callback_data"])
    listing = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "Ваши заявки" in c.text)
    assert f"#{ticket_id}" in listing.text and "ждёт оператора" in listing.text


@pytest.mark.parametrize(("language", "question", "unsure"), [
    ("en", "account", "Is it one of these?"),
    ("ru", "аккаунт", "Может быть, это одно из этих?"),
])
async def test_a_weak_match_shows_suggestions(telegram: TelegramServer, desk_bot, language: str, question: str,
                                              unsure: str) -> None:
    await desk_bot()
    anna = telegram.user("Anna", language_code=language)
    await telegram.send(anna, question)
    suggestions = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    assert unsure in suggestions.text
    articles = [b for b in suggestions.buttons if b["text"].startswith("📄")]
    assert 2 <= len(articles) <= 3
    assert suggestions.buttons[-1]["callback_data"] == "m:human"
    mark = telegram.mark()
    await telegram.press(anna, suggestions, articles[0]["callback_data"])
    shown = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id, since=mark)
    assert shown.text.startswith("<b>" + articles[0]["text"].removeprefix("📄 "))


async def test_a_photo_sent_before_the_handoff_reaches_the_ticket(telegram: TelegramServer, desk_bot,
                                                                  sessions) -> None:
    from tests.bot.flows import ticket_messages

    await desk_bot()
    anna = telegram.user("Anna")
    await telegram.send_photo(anna, b"\xff\xd8broken", caption="it arrived like this")
    topics = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and len(c.buttons) == 4)
    await telegram.press(anna, topics, topics.buttons[2]["callback_data"])  # logistics
    opened = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "is open" in c.text)
    await telegram.settled()
    ticket_id = int(opened.text.split("#")[1].split()[0].rstrip("."))
    [photo] = await ticket_messages(sessions, ticket_id)
    assert photo.kind == "photo" and photo.body == "it arrived like this"
