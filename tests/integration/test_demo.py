"""The demo desk's knowledge base answers what a shop's customers ask, in English and Russian,
through the same search the bot uses; a run writes its tickets' history through the real use cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.demo import fill_demo
from core.demo.articles import ARTICLES
from core.i18n import load_translator
from core.kb.search import find_answer
from core.models import Message, Ticket
from core.storage import FolderStore

QUESTIONS = [
    ("How long does delivery take?", "en", "demo-delivery-en"),
    ("do you ship to other cities", "en", "demo-delivery-en"),
    ("I want to return my tea", "en", "demo-returns-en"),
    ("when are you open on saturday", "en", "demo-hours-en"),
    ("where is my order", "en", "demo-order-status-en"),
    ("сколько стоит доставка", "ru", "demo-delivery-ru"),
    ("как вернуть товар", "ru", "demo-returns-ru"),
    ("можно оплатить картой?", "ru", "demo-payment-ru"),
    ("во сколько открывается магазин", "ru", "demo-hours-ru"),
]


@pytest.fixture
async def demo_desk(sessions, tmp_path: Path):  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        await fill_demo(session, FolderStore(tmp_path, 10 * 1024 * 1024), load_translator(), language="en")
    return sessions


@pytest.mark.parametrize(("question", "language", "slug"), QUESTIONS)
async def test_the_demo_knowledge_base_answers_common_shop_questions(demo_desk, question: str, language: str,
                                                                      slug: str) -> None:
    async with demo_desk() as session:
        result = await find_answer(session, question, language)
    title = next(article.title for article in ARTICLES if article.slug == slug)
    assert (result.outcome, result.best and result.best.title) == ("hit", title), [
        (f.title, round(f.score, 2)) for f in result.found]


async def test_demo_tickets_have_customer_bot_and_operator_lines(demo_desk) -> None:
    async with demo_desk() as session:
        authors = {ticket.subject: [m.author_kind for m in await session.scalars(
            select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id))]
            for ticket in await session.scalars(select(Ticket))}
    assert authors["Charged twice"] == ["customer", "bot", "customer", "operator"]
    assert authors["Где мой заказ?"] == ["customer", "bot", "customer"]
