"""The knowledge-base editor API: articles, sanitized preview, and what the bot would answer."""

from __future__ import annotations

from tests.web.harness import Panel
from tests.web.test_ticket_api import signed_in


async def test_operator_writes_an_article_and_the_customer_question_finds_it(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    article = {
        "slug": "returns",
        "title": "How to return an item",
        "language": "en",
        "tags": ["returns"],
        "body": "Send the parcel back within **30 days**. <script>alert(1)</script>",
    }
    async with client.post(panel.url("/api/kb/articles"), json=article, headers=csrf) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
    async with client.post(panel.url("/api/kb/articles"), json=article, headers=csrf) as r:
        assert r.status == 409
    async with client.post(panel.url("/api/kb/articles"), json={**article, "slug": "Bad Slug"}, headers=csrf) as r:
        assert r.status == 422 and "slug" in (await r.json())["fields"]
    async with client.get(panel.url("/api/kb/search?q=return+an+item&language=en")) as r:
        answer = await r.json()
    assert answer["outcome"] == "hit" and answer["answer"]["title"] == "How to return an item"
    assert "<strong>30 days</strong>" in answer["answer"]["html"] and "<script" not in answer["answer"]["html"]
    async with client.patch(
        panel.url(f"/api/kb/articles/{created['id']}"), json={"published": False}, headers=csrf
    ) as r:
        assert (await r.json())["published"] is False
    async with client.get(panel.url("/api/kb/search?q=return+an+item&language=en")) as r:
        assert (await r.json())["outcome"] == "miss"
    async with client.post(
        panel.url("/api/kb/preview"), json={"body": "[x](javascript:alert(1)) *hi*"}, headers=csrf
    ) as r:
        html = (await r.json())["html"]
    assert 'href="javascript' not in html and "<em>hi</em>" in html
    async with client.delete(panel.url(f"/api/kb/articles/{created['id']}"), headers=csrf) as r:
        assert r.status == 200
    async with client.get(panel.url(f"/api/kb/articles/{created['id']}")) as r:
        assert r.status == 404


async def test_partner_cannot_edit_the_knowledge_base(panel: Panel, sessions) -> None:
    partner, csrf = await signed_in(panel, sessions, "shop@example.com", role="partner")
    async with partner.post(panel.url("/api/kb/articles"), json={"slug": "x", "title": "x"}, headers=csrf) as r:
        assert r.status == 403
    async with partner.get(panel.url("/api/kb/search?q=x")) as r:
        assert r.status == 403


async def test_example_questions_are_set_by_admins_and_find_the_article(panel: Panel, sessions) -> None:
    admin_client, admin_csrf = await signed_in(panel, sessions, "admin@example.com", role="admin")
    operator, operator_csrf = await signed_in(panel, sessions, "op@example.com")
    article = {"slug": "returns", "title": "How to return an item", "language": "en", "body": "Within 30 days."}
    async with operator.post(panel.url("/api/kb/articles"), json={**article, "examples": ["x"]},
                             headers=operator_csrf) as r:
        assert r.status == 403
    async with operator.post(panel.url("/api/kb/articles"), json=article, headers=operator_csrf) as r:
        created = await r.json()
        assert r.status == 201 and created["examples"] == []
    question = "the parcel never came and I want my money"
    async with operator.get(panel.url("/api/kb/search"), params={"q": question, "language": "en"}) as r:
        assert (await r.json())["outcome"] == "miss"
    url = panel.url(f"/api/kb/articles/{created['id']}/examples")
    async with operator.post(url, json={"question": question}, headers=operator_csrf) as r:
        assert r.status == 403
    async with operator.patch(panel.url(f"/api/kb/articles/{created['id']}"), json={"examples": [question]},
                              headers=operator_csrf) as r:
        assert r.status == 403
    async with admin_client.post(url, json={"question": question}) as r:  # no CSRF token
        assert r.status == 403
    async with admin_client.post(url, json={"question": ""}, headers=admin_csrf) as r:
        assert r.status == 422 and "question" in (await r.json())["fields"]
    async with admin_client.post(url, json={"question": "x" * 301}, headers=admin_csrf) as r:
        assert r.status == 422
    async with admin_client.post(panel.url("/api/kb/articles/999999/examples"), json={"question": "hi"},
                                 headers=admin_csrf) as r:
        assert r.status == 404
    for _ in range(2):  # the same question twice is one example
        async with admin_client.post(url, json={"question": f"  {question} "}, headers=admin_csrf) as r:
            assert r.status == 200 and (await r.json())["examples"] == [question]
    async with operator.get(panel.url("/api/kb/search"), params={"q": question, "language": "en"}) as r:
        answer = await r.json()
    assert answer["outcome"] == "hit" and answer["answer"]["id"] == created["id"]
    # an operator's edit of other fields keeps the examples
    async with operator.patch(panel.url(f"/api/kb/articles/{created['id']}"), json={"body": "Within 14 days."},
                              headers=operator_csrf) as r:
        assert (await r.json())["examples"] == [question]
    async with admin_client.patch(panel.url(f"/api/kb/articles/{created['id']}"), json={"examples": []},
                                  headers=admin_csrf) as r:
        assert (await r.json())["examples"] == []


async def test_admins_add_and_delete_synonyms_and_the_search_follows(panel: Panel, sessions) -> None:
    admin_client, admin_csrf = await signed_in(panel, sessions, "admin@example.com", role="admin")
    operator, operator_csrf = await signed_in(panel, sessions, "op@example.com")
    article = {"slug": "dostavka", "title": "Сроки доставки", "language": "ru", "body": "1–3 дня."}
    async with operator.post(panel.url("/api/kb/articles"), json=article, headers=operator_csrf) as r:
        article_id = (await r.json())["id"]
    params = {"q": "когда приедет курьер", "language": "ru"}
    async with operator.get(panel.url("/api/kb/search"), params=params) as r:
        assert (await r.json())["outcome"] == "miss"
    group = {"language": "ru", "terms": ["доставка", "курьер"]}
    async with operator.post(panel.url("/api/kb/synonyms"), json=group, headers=operator_csrf) as r:
        assert r.status == 403
    async with admin_client.post(panel.url("/api/kb/synonyms"), json=group) as r:
        assert r.status == 403  # no CSRF token
    for bad in ({**group, "terms": ["доставка"]}, {**group, "terms": ["доставка", " Доставка "]},
                {**group, "language": "de"}, {**group, "terms": ["x" * 61, "y"]}):
        async with admin_client.post(panel.url("/api/kb/synonyms"), json=bad, headers=admin_csrf) as r:
            assert r.status == 422, bad
    async with admin_client.post(panel.url("/api/kb/synonyms"), json=group, headers=admin_csrf) as r:
        created = await r.json()
        assert r.status == 201 and created["terms"] == ["доставка", "курьер"]
    async with operator.get(panel.url("/api/kb/search"), params=params) as r:
        answer = await r.json()
    assert answer["outcome"] == "hit" and answer["answer"]["id"] == article_id
    async with operator.get(panel.url("/api/kb/synonyms?language=ru")) as r:
        listed = await r.json()
    assert [item["id"] for item in listed["items"]] == [created["id"]] and listed["built_in"]["ru"]
    async with operator.delete(panel.url(f"/api/kb/synonyms/{created['id']}"), headers=operator_csrf) as r:
        assert r.status == 403
    async with admin_client.delete(panel.url(f"/api/kb/synonyms/{created['id']}"), headers=admin_csrf) as r:
        assert r.status == 200
    async with admin_client.delete(panel.url(f"/api/kb/synonyms/{created['id']}"), headers=admin_csrf) as r:
        assert r.status == 404
    async with operator.get(panel.url("/api/kb/search"), params=params) as r:
        assert (await r.json())["outcome"] == "miss"
