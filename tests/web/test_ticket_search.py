"""The inbox search on real PostgreSQL (issue 20): stemming in Russian and English, numbers, addresses,
phones, notes, names, the highlighted line (plain parts, never HTML), ticket numbers, and who may search."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import text

from core.services import ticket_search
from tests.web.harness import Panel, customer_ticket, customer_writes, login, make_operator


async def signed_in(panel: Panel, sessions, email: str, role: str = "operator"):
    await make_operator(sessions, email, role=role)
    client = panel.client()
    csrf = await login(panel, client, email)
    return client, {"X-CSRF-Token": csrf}


async def search(client, panel: Panel, q: str, extra: str = "") -> dict:
    async with client.get(panel.url(f"/api/tickets?q={quote(q)}{extra}")) as r:
        assert r.status == 200, await r.text()
        return await r.json()


def marked(item: dict) -> list[str]:
    return [text for text, hit in item["match"]["parts"] if hit]


async def test_search_stems_russian_and_english_and_marks_the_line(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "op@example.com")
    courier, _ = await customer_ticket(sessions, user_id=701, name="Olga", body="Здравствуйте")
    await customer_writes(sessions, courier, "Курьер не приехал <b>вовремя</b> & ничего не сказал")
    parcel, _ = await customer_ticket(sessions, user_id=702, name="Bob", body="Hi")
    await customer_writes(sessions, parcel, "Two deliveries were lost, <script>alert(1)</script>")
    page = await search(client, panel, "курьера")  # another case of the same word
    assert [t["id"] for t in page["items"]] == [courier]
    assert page["matches"] == 1 and page["matches_capped"] is False and page["jump_to"] is None
    hit = page["items"][0]
    assert hit["match"]["source"] == "message" and marked(hit) == ["Курьер"]
    page = await search(client, panel, "delivery")
    assert [t["id"] for t in page["items"]] == [parcel] and marked(page["items"][0]) == ["deliveries"]
    # The parts are text: whatever markup the message holds stays text for the panel to set with textContent.
    assert all("<mark" not in text for text, _ in page["items"][0]["match"]["parts"])
    async with client.get(panel.url("/api/tickets")) as r:
        assert [t.get("match") for t in (await r.json())["items"]] == [None, None]  # the inbox is no search


async def test_search_finds_numbers_addresses_phones_notes_and_names(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    mail, _ = await customer_ticket(sessions, user_id=711, name="Ann", body="Hello")
    await customer_writes(sessions, mail, "write to ivan.petrov@example.org or call +7 (900) 123-45-67")
    named, _ = await customer_ticket(sessions, user_id=712, name="Zinaida Fedorova", body="Hello")
    noted, _ = await customer_ticket(sessions, user_id=713, name="Carl", body="Hello")
    async with client.post(panel.url(f"/api/tickets/{noted}/notes"), json={"body": "refund approved by finance"},
                           headers=csrf) as r:
        assert r.status in (200, 201), await r.text()
    page = await search(client, panel, "petrov@exam")  # part of an address
    assert [t["id"] for t in page["items"]] == [mail]
    assert marked(page["items"][0]) == ["petrov@exam"]
    assert [t["id"] for t in (await search(client, panel, "123-45-67"))["items"]] == [mail]
    page = await search(client, panel, "refunds")
    assert [t["id"] for t in page["items"]] == [noted] and page["items"][0]["match"]["source"] == "note"
    page = await search(client, panel, "Fedoro")  # part of the customer's name
    assert [t["id"] for t in page["items"]] == [named] and page["items"][0]["match"]["source"] == "name"
    assert (await search(client, panel, "Fedoro", "&status=closed"))["items"] == []  # the view's filters hold


async def test_a_ticket_number_jumps_to_the_ticket(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "op@example.com")
    first, _ = await customer_ticket(sessions, user_id=721, name="Dan", body="Hello")
    other, _ = await customer_ticket(sessions, user_id=722, name="Eve", body="Hello")
    await customer_writes(sessions, other, f"about ticket {first} again")
    page = await search(client, panel, f"#{first}")
    assert page["jump_to"] == first and page["items"][0]["id"] == first
    assert {t["id"] for t in page["items"]} == {first, other}  # the mention is found too, after it
    assert (await search(client, panel, "999999999"))["jump_to"] is None


async def test_search_pages_through_many_matches(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "op@example.com")
    ids = set()
    for n in range(5):
        ticket, _ = await customer_ticket(sessions, user_id=730 + n, name=f"C{n}", body="Hello")
        await customer_writes(sessions, ticket, "the parcel is late")
        ids.add(ticket)
    page = await search(client, panel, "parcel", "&limit=2")
    seen = [t["id"] for t in page["items"]]
    while page["next_cursor"]:
        page = await search(client, panel, "parcel", f"&limit=2&cursor={page['next_cursor']}")
        seen += [t["id"] for t in page["items"]]
    assert sorted(seen) == sorted(ids)


async def test_only_staff_search(panel: Panel, sessions) -> None:
    partner, _ = await signed_in(panel, sessions, "shop@example.com", role="partner")
    ticket, _ = await customer_ticket(sessions, user_id=741, name="Fay", body="secret order details")
    async with partner.get(panel.url(f"/api/tickets?q={ticket}")) as r:
        assert r.status in (403, 404)
        assert str(ticket) not in await r.text()


async def test_a_count_past_a_thousand_shows_as_1000_plus(panel: Panel, sessions) -> None:
    """1,200 tickets match (600 by subject, 600 by a message: no source reaches its cap): the count
    stops at 1,000 and says "more"; a view's filter narrows the candidates and counts them exactly."""
    client, _ = await signed_in(panel, sessions, "op@example.com")
    await many_zeppelins(sessions)
    page = await search(client, panel, "zeppelin")
    assert page["matches"] == 1000 and page["matches_capped"] is True
    page = await search(client, panel, "zeppelin", "&status=open")
    assert page["matches"] == 12 and page["matches_capped"] is False


async def many_zeppelins(sessions) -> None:
    """1,200 tickets holding "zeppelin", 12 of them open: 600 in the subject, 600 in a message."""
    async with sessions() as session, session.begin():
        contact = await session.scalar(text("INSERT INTO contact (name) VALUES ('Many') RETURNING id"))
        queue = await session.scalar(text("SELECT min(id) FROM queue"))
        await session.execute(text(
            "INSERT INTO ticket (subject, status, priority, channel, queue_id, contact_id) "
            "SELECT CASE WHEN n <= 600 THEN 'zeppelin parts ' || n ELSE 'parts ' || n END, "
            "CASE WHEN n % 100 = 0 THEN 'open' ELSE 'closed' END, 'medium', 'web', :queue, :contact "
            "FROM generate_series(1, 1200) AS n"), {"queue": queue, "contact": contact})
        await session.execute(text(
            "INSERT INTO message (ticket_id, author_kind, body) SELECT id, 'customer', 'my zeppelin broke' "
            "FROM ticket WHERE contact_id = :contact AND subject NOT LIKE 'zeppelin%'"), {"contact": contact})


async def test_a_common_word_finds_its_newest_matches(panel: Panel, sessions) -> None:
    """1,100 messages say "balloon", one per ticket: each source reads at most CAP (1,000) rows, and for
    messages those are the newest matches, so the 100 oldest tickets are left out, never the newest."""
    async with sessions() as session, session.begin():
        contact = await session.scalar(text("INSERT INTO contact (name) VALUES ('Many') RETURNING id"))
        queue = await session.scalar(text("SELECT min(id) FROM queue"))
        tickets = list(await session.scalars(text(
            "INSERT INTO ticket (subject, status, priority, channel, queue_id, contact_id) "
            "SELECT 'parts ' || n, 'open', 'medium', 'web', :queue, :contact FROM generate_series(1, 1100) AS n "
            "RETURNING id"), {"queue": queue, "contact": contact}))
        for ticket in sorted(tickets):  # oldest first: message ids follow ticket ids
            await session.execute(text("INSERT INTO message (ticket_id, author_kind, body) "
                                       "VALUES (:t, 'customer', 'the balloon is torn')"), {"t": ticket})
    async with sessions() as session, session.begin():
        found = await ticket_search.find(session, "balloon")
    assert found.capped
    assert {hit.ticket_id for hit in found.hits} == set(sorted(tickets)[100:])
