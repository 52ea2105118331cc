"""Core rules of the support area on real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.contacts import contact_for_telegram
from core.errors import InvalidInput
from core.kb.articles import ArticleData, record_feedback, upsert_article
from core.models import Article, Operator, Ticket
from core.services.contacts import TelegramProfile
from core.services.conversations import open_ticket
from core.services.operator_link import create_link_token, link_operator
from core.services.operators import create_operator
from core.services.presence import offline_alert_recipients, touch_presence


async def test_open_ticket_keeps_working_once_postgres_uses_a_generic_plan(sessions) -> None:
    """The partial-index ON CONFLICT must match for every call on a connection, not just the first five."""
    async with sessions() as session, session.begin():
        for n in range(12):
            contact = await contact_for_telegram(session, TelegramProfile(1000 + n, f"C{n}"))
            await open_ticket(session, contact=contact, channel="telegram", queue_slug="general", subject="s")
            _, created = await open_ticket(session, contact=contact, channel="telegram", queue_slug="billing",
                                               subject="s")
            assert not created
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 12


async def test_feedback_counts_one_vote_per_contact_and_moves_when_changed(sessions) -> None:
    async with sessions() as session, session.begin():
        article_id, _ = await upsert_article(session, ArticleData("a", "Title", "Body"))
        contact = await contact_for_telegram(session, TelegramProfile(1, "A"))
        assert await record_feedback(session, article_id=article_id, contact_id=contact.id, helpful=True)
        assert not await record_feedback(session, article_id=article_id, contact_id=contact.id, helpful=True)
        assert await record_feedback(session, article_id=article_id, contact_id=contact.id, helpful=False)
        article = await session.get(Article, article_id)
        assert (article.helpful_count, article.not_helpful_count) == (0, 1)


async def test_link_tokens_work_once_and_expire(sessions) -> None:
    async with sessions() as session, session.begin():
        operator = await create_operator(session, email="o@example.com", password="long-enough-pass",
                                         role="operator")
        token = await create_link_token(session, operator.id)
        expired = await create_link_token(session, operator.id, ttl=timedelta(seconds=-1))
    async with sessions() as session, session.begin():
        with pytest.raises(InvalidInput):
            await link_operator(session, token, 77)  # replaced by the newer token
        with pytest.raises(InvalidInput):
            await link_operator(session, expired, 77)
    async with sessions() as session, session.begin():
        fresh = await create_link_token(session, operator.id)
        await link_operator(session, fresh, 77)
        with pytest.raises(InvalidInput):
            await link_operator(session, fresh, 77)
        assert (await session.get(Operator, operator.id)).telegram_user_id == 77


async def test_alerts_go_out_only_when_nobody_is_online(sessions) -> None:
    async with sessions() as session, session.begin():
        olga = await create_operator(session, email="olga@example.com", password="long-enough-pass",
                                     role="operator")
        olga.telegram_user_id = 5
        partner = await create_operator(session, email="p@example.com", password="long-enough-pass", role="partner")
        partner.telegram_user_id = 6
    async with sessions() as session, session.begin():
        assert [r.operator_id for r in await offline_alert_recipients(session)] == [olga.id]
        await touch_presence(session, olga.id)
    async with sessions() as session:
        assert await offline_alert_recipients(session) == []
        assert await offline_alert_recipients(session, within=timedelta(seconds=0)) != []
