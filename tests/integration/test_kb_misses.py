"""Missed questions grouped for admins (same stems, then trigram-similar keys, bounded), and votes
adjusting one question's ranking within ±0.1, fading with age, through the real search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from core.kb import misses
from core.kb.articles import ArticleData, record_feedback
from core.kb.search import FEEDBACK_CAP, adjustments_of, question_key, search
from core.kb.transfer import import_articles
from core.models import Article, ArticleFeedback, KbMiss
from tests.contacts import make_contact

ARTICLES = [
    ArticleData("delivery", "Delivery times", "A courier brings orders in 3 to 5 days.", "en", ("delivery",)),
    ArticleData("tracking", "Tracking your delivery", "The tracking link is in the e-mail.", "en", ("delivery",)),
]


async def test_misses_group_by_stems_and_by_similar_keys(sessions) -> None:
    async with sessions() as session, session.begin():
        for question in ("Do you sell bicycles?", "do you SELL bicycles", "you sell a bicycle?",
                         "sell bicycles and helmets", "gift wrapping available?", "Gift wrapping", "нет"):
            await misses.record(session, question, "en", "miss")
        await misses.record(session, "продаёте велосипеды?", "ru", "miss")
        await misses.record(session, "x" * 400, "en", "bogus")  # an unknown outcome is not kept
    async with sessions() as session:
        groups = await misses.groups(session, "en")
        assert [(g.count, sorted(g.keys)) for g in groups] == [
            (4, ["bicycl helmet sell", "bicycl sell"]), (2, ["avail gift wrap", "gift wrap"]), (1, ["нет"])]
        assert groups[0].example == "you sell a bicycle?" and groups[0].outcomes == {"miss"}
        assert [g.example for g in await misses.groups(session, "ru")] == ["продаёте велосипеды?"]
    async with sessions() as session, session.begin():
        assert await misses.resolve(session, "en", groups[1].keys) == 2
    async with sessions() as session:
        assert [g.count for g in await misses.groups(session, "en")] == [4, 1]


async def test_grouping_reads_a_bounded_number_of_rows(sessions, monkeypatch) -> None:
    async with sessions() as session, session.begin():
        session.add_all([KbMiss(language="en", question=f"q{i}", question_key=f"key{i:03d}", outcome="miss")
                         for i in range(30)])
    monkeypatch.setattr(misses, "SCAN", 20)
    monkeypatch.setattr(misses, "GROUPS", 5)
    async with sessions() as session:
        groups = await misses.groups(session, "en")
    assert sum(g.count for g in groups) <= 20 and sum(len(g.keys) for g in groups) == 5


async def test_votes_after_a_question_move_its_ranking_within_bounds(sessions) -> None:
    async with sessions() as session, session.begin():
        await import_articles(session, ARTICLES)
        ids = dict((await session.execute(select(Article.slug, Article.id))).all())
        contacts = [await make_contact(session, name=f"c{i}") for i in range(6)]
    question = "when does my delivery come"
    async with sessions() as session:
        before = {f.article_id: f.score for f in await search(session, question, "en")}
        other_before = await search(session, "delivery times", "en")
        key = await question_key(session, question, "en")
    assert key == "come deliveri"
    async with sessions() as session, session.begin():
        for contact in contacts:  # six votes: far more than the cap allows
            await record_feedback(session, article_id=ids["tracking"], contact_id=contact.id, helpful=False,
                                  query=question, question_key=key)
        await record_feedback(session, article_id=ids["delivery"], contact_id=contacts[0].id, helpful=True,
                              query=question, question_key=key)
    async with sessions() as session:
        after = {f.article_id: f.score for f in await search(session, question, "en")}
        shown = await adjustments_of(session, ids["tracking"])
    assert after[ids["tracking"]] == round(max(0.0, before[ids["tracking"]] - FEEDBACK_CAP), 3)
    assert after[ids["delivery"]] == round(min(1.0, before[ids["delivery"]] + 0.05), 3)
    async with sessions() as session:
        other = {f.article_id: f.score for f in await search(session, "delivery times", "en")}
    assert other == {f.article_id: f.score for f in other_before}  # another question: no effect
    assert shown == [{"question": question, "key": key, "helped": 0, "not_helped": 6, "adjustment": -0.1}]
    async with sessions() as session, session.begin():  # votes fade: two half-lives later, a quarter each
        await session.execute(update(ArticleFeedback).values(created_at=datetime.now(UTC) - timedelta(days=60)))
    async with sessions() as session:
        [faded] = await adjustments_of(session, ids["tracking"])
    assert faded["adjustment"] == -0.075
