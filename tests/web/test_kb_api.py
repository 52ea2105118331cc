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
