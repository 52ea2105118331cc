"""Articles to insert into a reply (GET /api/tickets/{id}/articles): operators get published ones only,
the customer's language first; no session is 401, a partner 403, an unknown ticket 404."""

from __future__ import annotations

from core.kb.articles import ArticleData, upsert_article
from core.models import Contact, Ticket
from tests.web.harness import Panel, customer_ticket
from tests.web.test_ticket_api import signed_in

RETURNS_LINK = {"title": "Returns", "url": "https://shop.example/returns"}


async def write_articles(sessions) -> None:
    async with sessions() as session, session.begin():
        for data in (
            ArticleData("returns-en", "Returning an item", "Send the parcel back within 30 days.", "en",
                        links=(RETURNS_LINK,)),
            ArticleData("returns-ru", "Возврат товара", "Отправьте посылку обратно в течение 30 дней.", "ru"),
            ArticleData("delivery-en", "Delivery times", "Parcels arrive in 3 to 5 days.", "en"),
            ArticleData("returns-draft", "Returning an item (draft)", "Not ready.", "en", published=False),
        ):
            await upsert_article(session, data)


async def speaks(sessions, ticket_id: int, language: str) -> None:
    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        (await session.get(Contact, ticket.contact_id)).language = language


async def test_operator_finds_published_articles_in_the_customers_language_first(panel: Panel, sessions) -> None:
    await write_articles(sessions)
    client, _ = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions, user_id=801, body="I want to return it")

    async with client.get(panel.url(f"/api/tickets/{ticket_id}/articles"), params={"q": "return"}) as r:
        assert r.status == 200, await r.text()
        found = await r.json()
    assert found["language"] == "en"
    titles = [item["title"] for item in found["items"]]
    assert titles[0] == "Returning an item" and "Returning an item (draft)" not in titles
    first = found["items"][0]
    assert first["body"] == "Send the parcel back within 30 days." and first["link"] == RETURNS_LINK["url"]

    await speaks(sessions, ticket_id, "ru")
    async with client.get(panel.url(f"/api/tickets/{ticket_id}/articles"), params={"q": "возврат"}) as r:
        found = await r.json()
    assert found["language"] == "ru" and found["items"][0]["title"] == "Возврат товара"
    assert found["items"][0]["link"] is None
    async with client.get(panel.url(f"/api/tickets/{ticket_id}/articles")) as r:  # nothing typed: a list
        titles = [item["title"] for item in (await r.json())["items"]]
    assert titles[0] == "Возврат товара" and set(titles[1:]) == {"Delivery times", "Returning an item"}


async def test_only_staff_may_pick_articles_for_a_ticket(panel: Panel, sessions) -> None:
    await write_articles(sessions)
    ticket_id, _ = await customer_ticket(sessions, user_id=802)
    anonymous = panel.client()
    async with anonymous.get(panel.url(f"/api/tickets/{ticket_id}/articles"), params={"q": "return"}) as r:
        assert r.status == 401
    partner, _ = await signed_in(panel, sessions, "shop@example.com", role="partner")
    async with partner.get(panel.url(f"/api/tickets/{ticket_id}/articles"), params={"q": "return"}) as r:
        assert r.status == 403  # staff only, before the ticket is looked at
    operator, _ = await signed_in(panel, sessions, "op@example.com")
    async with operator.get(panel.url(f"/api/tickets/{ticket_id + 999}/articles")) as r:
        assert r.status == 404
