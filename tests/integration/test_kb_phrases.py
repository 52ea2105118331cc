"""Question phrases no single word carries ("how long", "сколько стоит") and ties broken by the title
most about the question's words, through the real search on PostgreSQL."""

from __future__ import annotations

import pytest

from core.kb.articles import ArticleData
from core.kb.search import find_answer, question_key, search
from core.kb.synonyms import phrase_words
from core.kb.transfer import import_articles

ARTICLES = [
    ArticleData("times", "Delivery times", "A courier brings the order in 3 to 5 days.", "en", ("delivery",)),
    ArticleData("costs", "Delivery costs", "Delivery is $5, free over $50.", "en", ("delivery",)),
    ArticleData("sroki", "Сроки доставки", "Курьер привозит заказ за 1–3 дня.", "ru", ("доставка",)),
    ArticleData("stoimost", "Стоимость доставки", "Доставка 300 ₽, бесплатно от 3000 ₽.", "ru", ("доставка",)),
    ArticleData("lockers", "Parcel lockers", "Pick the order up from a locker.", "en", ()),
    ArticleData("damaged", "A damaged item in the parcel", "Send us a photo.", "en", ()),
]


@pytest.fixture
async def loaded(sessions) -> None:
    async with sessions() as session:
        await import_articles(session, ARTICLES)
        await session.commit()


@pytest.mark.parametrize(("question", "language", "title"), [
    ("how long is delivery", "en", "Delivery times"),
    ("how much is delivery", "en", "Delivery costs"),
    ("сколько идёт доставка", "ru", "Сроки доставки"),
    ("сколько стоит доставка", "ru", "Стоимость доставки"),
])
async def test_a_phrase_tells_articles_of_one_topic_apart(sessions, loaded, question: str, language: str,
                                                          title: str) -> None:
    async with sessions() as session:
        plain = await find_answer(session, question.split()[-1], language)
        result = await find_answer(session, question, language)
    assert plain.outcome == "weak"  # "delivery" alone: both articles alike
    assert result.outcome == "hit" and result.best is not None and result.best.title == title


async def test_phrase_words_are_no_part_of_the_question_key(sessions) -> None:
    assert phrase_words("How long is delivery? How soon?", "en") == ["time"]
    assert phrase_words("is delivery free", "en") == []
    async with sessions() as session:
        assert await question_key(session, "how long is delivery", "en") == "deliveri long"


async def test_a_tie_goes_to_the_title_most_about_the_question(sessions, loaded) -> None:
    async with sessions() as session:
        found = await search(session, "parcel", "en")
    assert [f.title for f in found[:2]] == ["Parcel lockers", "A damaged item in the parcel"]
    assert found[0].score > found[1].score
