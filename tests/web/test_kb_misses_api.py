"""The missed-questions API (/api/kb/misses): admin only, CSRF on writes, validated input; one click
adds a question as an example (the question then finds the article) or dismisses its group; and the
votes' ranking effect shown on an article."""

from __future__ import annotations

from core.kb import misses
from core.kb.articles import record_feedback
from core.kb.search import question_key
from tests.contacts import make_contact
from tests.web.harness import Panel
from tests.web.test_ticket_api import signed_in


async def _missed(sessions, *questions: str, language: str = "en") -> None:
    async with sessions() as session, session.begin():
        for question in questions:
            await misses.record(session, question, language, "miss")


async def test_admin_turns_a_missed_question_into_an_example(panel: Panel, sessions) -> None:
    admin_client, admin_csrf = await signed_in(panel, sessions, "admin@example.com", role="admin")
    operator, operator_csrf = await signed_in(panel, sessions, "op@example.com")
    article = {"slug": "returns", "title": "How to return an item", "language": "en", "body": "Within 30 days."}
    async with admin_client.post(panel.url("/api/kb/articles"), json=article, headers=admin_csrf) as r:
        article_id = (await r.json())["id"]
    question = "the parcel never came and I want my money"
    await _missed(sessions, question, "The parcel never came, I want my money!", "do you sell <b>bikes</b>")
    async with operator.get(panel.url("/api/kb/misses")) as r:
        assert r.status == 403
    async with admin_client.get(panel.url("/api/kb/misses?language=de")) as r:
        assert r.status == 422
    async with admin_client.get(panel.url("/api/kb/misses?language=en")) as r:
        items = (await r.json())["items"]
    assert [(g["count"], g["example"]) for g in items] == [(2, "The parcel never came, I want my money!"),
                                                           (1, "do you sell <b>bikes</b>")]
    group = items[0]
    body = {"language": "en", "keys": group["keys"], "article_id": article_id, "question": question}
    async with operator.post(panel.url("/api/kb/misses/example"), json=body, headers=operator_csrf) as r:
        assert r.status == 403
    async with admin_client.post(panel.url("/api/kb/misses/example"), json=body) as r:
        assert r.status == 403  # no CSRF token
    for bad in ({**body, "keys": []}, {**body, "question": ""}, {**body, "article_id": 0}, {**body, "extra": 1},
                {**body, "keys": ["k"] * 101}):
        async with admin_client.post(panel.url("/api/kb/misses/example"), json=bad, headers=admin_csrf) as r:
            assert r.status == 422, bad
    async with admin_client.post(panel.url("/api/kb/misses/example"), json={**body, "article_id": 999999},
                                 headers=admin_csrf) as r:
        assert r.status == 404
    async with admin_client.get(panel.url("/api/kb/misses")) as r:
        assert len((await r.json())["items"]) == 2  # a failed request loses nothing
    async with admin_client.post(panel.url("/api/kb/misses/example"), json=body, headers=admin_csrf) as r:
        done = await r.json()
    assert r.status == 200 and done["resolved"] == 2 and done["article"]["examples"] == [question]
    async with operator.get(panel.url("/api/kb/search"), params={"q": question, "language": "en"}) as r:
        answer = await r.json()
    assert answer["outcome"] == "hit" and answer["answer"]["id"] == article_id
    async with admin_client.get(panel.url("/api/kb/misses")) as r:
        [left] = (await r.json())["items"]
    dismiss = {"language": "en", "keys": left["keys"]}
    async with operator.post(panel.url("/api/kb/misses/dismiss"), json=dismiss, headers=operator_csrf) as r:
        assert r.status == 403
    async with admin_client.post(panel.url("/api/kb/misses/dismiss"), json=dismiss, headers=admin_csrf) as r:
        assert (await r.json())["resolved"] == 1
    async with admin_client.get(panel.url("/api/kb/misses")) as r:
        assert (await r.json())["items"] == []


async def test_admins_see_what_votes_do_to_an_article(panel: Panel, sessions) -> None:
    admin_client, admin_csrf = await signed_in(panel, sessions, "admin@example.com", role="admin")
    operator, _ = await signed_in(panel, sessions, "op@example.com")
    article = {"slug": "delivery", "title": "Delivery times", "language": "en", "body": "3 to 5 days."}
    async with admin_client.post(panel.url("/api/kb/articles"), json=article, headers=admin_csrf) as r:
        article_id = (await r.json())["id"]
    async with sessions() as session, session.begin():
        key = await question_key(session, "when will my delivery come", "en")
        for n, helpful in enumerate((True, True, False)):
            contact = await make_contact(session, name=f"c{n}")
            await record_feedback(session, article_id=article_id, contact_id=contact.id, helpful=helpful,
                                  query="when will my delivery come", question_key=key)
    async with operator.get(panel.url(f"/api/kb/articles/{article_id}/feedback")) as r:
        assert r.status == 403
    async with admin_client.get(panel.url("/api/kb/articles/999999/feedback")) as r:
        assert r.status == 404
    async with admin_client.get(panel.url(f"/api/kb/articles/{article_id}/feedback")) as r:
        shown = await r.json()
    assert shown == {"helped": 2, "not_helped": 1, "questions": [
        {"question": "when will my delivery come", "key": key, "helped": 2, "not_helped": 1, "adjustment": 0.05}]}
