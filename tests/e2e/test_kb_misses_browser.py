"""Chromium: an admin turns a missed question into an example of an article from the KB page's
"Missed questions" list, dismisses another group and sees votes' effect; an operator sees no list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.kb import misses
from core.kb.articles import ArticleData, record_feedback
from core.kb.search import question_key
from core.kb.transfer import import_articles
from core.models import Article
from tests.contacts import make_contact
from tests.e2e.test_panel_browser import operator_page, signed_in_page
from tests.web.harness import Panel, make_operator

pytestmark = pytest.mark.browser

QUESTION = "do you take <b>plastic</b> cards"


async def _seed(sessions: Any) -> int:
    async with sessions() as session, session.begin():
        await import_articles(session, [ArticleData("payment", "Payment methods", "Visa and Mastercard.", "en")])
        article_id = await session.scalar(select(Article.id))
        for question in (QUESTION, "Do you take plastic card?", "gift wrapping"):
            await misses.record(session, question, "en", "miss")
        contact = await make_contact(session, name="Anna")
        key = await question_key(session, "payment methods please", "en")
        await record_feedback(session, article_id=article_id, contact_id=contact.id, helpful=True,
                              query="payment methods please", question_key=key)
    return article_id


async def test_an_admin_adds_a_missed_question_as_an_example(browser: Any, panel: Panel, sessions: Any) -> None:
    article_id = await _seed(sessions)
    await make_operator(sessions, "boss@example.com", role="admin")
    page = await signed_in_page(browser, panel, "boss@example.com", "/inbox")
    await page.goto(panel.url("/kb"))
    group = page.locator("#kb-miss-list li.kb-miss", has_text="plastic")
    await group.wait_for()
    assert "2 times" in await group.inner_text() and await page.locator("#kb-miss-list b").count() == 0
    await page.locator("#kb-articles li", has_text="Payment methods").wait_for()
    await group.locator("button", has_text="Add as an example").click()
    await page.locator("#admin-notice", has_text="Choose an article").wait_for()  # nothing picked yet
    await group.locator("input[type=search]").fill(f"Payment methods (en) #{article_id}")
    await group.locator("button", has_text="Add as an example").click()
    await page.locator("#admin-notice", has_text="Added as an example question.").wait_for()
    await group.wait_for(state="detached")
    examples = await page.locator("#kb-form textarea[name=examples]").input_value()
    assert examples.splitlines() == [(await _example_of(sessions, article_id))]
    await page.locator("#kb-feedback li", has_text="«payment methods please»: helped 1").wait_for()
    await page.fill("#kb-ask input[name=q]", "Do you take plastic card?")
    await page.click("#kb-ask button[type=submit]")
    await page.locator("#kb-answer h3", has_text="Payment methods").wait_for()
    other = page.locator("#kb-miss-list li.kb-miss", has_text="gift wrapping")
    await other.locator("button", has_text="Dismiss").click()
    await page.locator("#kb-miss-list li", has_text="No missed questions.").wait_for()


async def _example_of(sessions: Any, article_id: int) -> str:
    async with sessions() as session:
        article = await session.get(Article, article_id)
        assert article is not None and len(article.examples) == 1
        return str(article.examples[0])


async def test_an_operator_sees_no_missed_questions(browser: Any, panel: Panel, sessions: Any) -> None:
    await _seed(sessions)
    page = await operator_page(browser, panel, sessions, "op-kb@example.com")
    await page.goto(panel.url("/kb"))
    await page.locator("#kb-articles li", has_text="Payment methods").wait_for()
    assert not await page.locator("#kb-misses").is_visible()
    assert await page.locator("#kb-miss-list li").count() == 0
