"""The operator's shift through the API: inbox rows with the last message (one query), assignment on
first reply (a per-queue setting) and in the ticket's history, queue names in the reader's language."""

from __future__ import annotations

import io
from typing import Any

from aiohttp import FormData
from sqlalchemy import event, select

from core.models import Queue, Ticket
from core.services import inbox
from tests.web.harness import Panel, customer_ticket, customer_writes, login, make_operator


async def signed_in(panel: Panel, sessions: Any, email: str, role: str = "operator", language: str = "en") -> Any:
    await make_operator(sessions, email, role=role, language=language)
    client = panel.client()
    csrf = await login(panel, client, email)
    me = (await (await client.get(panel.url("/api/me"))).json())["id"]
    return client, {"X-CSRF-Token": csrf}, me


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


async def test_inbox_rows_carry_the_last_message_who_wrote_it_and_when(panel: Panel, sessions: Any) -> None:
    client, csrf, me = await signed_in(panel, sessions, "rows@example.com")
    first, _ = await customer_ticket(sessions, user_id=701, name="Ann", body="I want to talk to a human")
    await customer_writes(sessions, first, "My parcel 42 is late\nsecond line")
    second, _ = await customer_ticket(sessions, user_id=702, name="Bob", body="hello")
    photo = FormData()
    photo.add_field("body", "")
    photo.add_field("file", io.BytesIO(PNG), filename="shot.png", content_type="image/png")
    async with client.post(panel.url(f"/api/tickets/{second}/messages"), data=photo, headers=csrf) as r:
        assert r.status == 201, await r.text()
    async with client.get(panel.url("/api/tickets")) as r:
        assert r.status == 200
        rows = {row["id"]: row for row in (await r.json())["items"]}
    ann = rows[first]["last_message"]
    assert (ann["author_kind"], ann["text"], ann["file_type"]) == ("customer", "My parcel 42 is late", None)
    assert ann["created_at"]
    bob = rows[second]["last_message"]
    assert (bob["author_kind"], bob["operator_id"], bob["author_name"], bob["text"], bob["file_type"]) == (
        "operator", me, "Rows", "", "image/png")
    assert rows[first]["unread_count"] == 2 and rows[first]["contact_name"] == "Ann"


async def test_the_inbox_page_is_one_query_however_many_tickets(panel: Panel, sessions: Any) -> None:
    for n in range(30):
        ticket_id, _ = await customer_ticket(sessions, user_id=800 + n, name=f"C{n}", body=f"question {n}")
        await customer_writes(sessions, ticket_id, f"more {n}")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async with sessions() as session:
        sync_engine = (await session.connection()).engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", count)
        try:
            page = await inbox.list_tickets(session, inbox.TicketFilter(), viewer_id=0, limit=25)
        finally:
            event.remove(sync_engine, "before_cursor_execute", count)
    assert len(page.items) == 25 and all(item["last_message"] for item in page.items)
    assert len(statements) == 1 and "LATERAL" in statements[0]


async def test_the_first_reply_assigns_unless_the_queue_says_not(panel: Panel, sessions: Any) -> None:
    client, csrf, me = await signed_in(panel, sessions, "first@example.com")
    admin, admin_csrf, _ = await signed_in(panel, sessions, "chief@example.com", role="admin")
    ticket_id, _ = await customer_ticket(sessions, user_id=901)
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "On it"}, headers=csrf) as r:
        assert r.status == 201
    async with sessions() as session:
        assert (await session.get(Ticket, ticket_id)).assignee_id == me
    async with client.get(panel.url(f"/api/tickets/{ticket_id}/history")) as r:
        history = (await r.json())["items"]
    assert [(h["action"], h["new"], h["via"], h["new_name"], h["actor_id"]) for h in history] == [
        ("assignee_id", me, "reply", "First", me)]

    # a second reply by someone else does not take it over
    async with admin.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "+1"},
                          headers=admin_csrf) as r:
        assert r.status == 201
    async with sessions() as session:
        assert (await session.get(Ticket, ticket_id)).assignee_id == me

    # the queue's setting off: replying leaves the ticket unassigned
    async with sessions() as session:
        general = await session.scalar(select(Queue.id).where(Queue.slug == "general"))
    async with admin.patch(panel.url(f"/api/queues/{general}"), json={"assign_on_reply": False},
                           headers=admin_csrf) as r:
        assert r.status == 200 and (await r.json())["assign_on_reply"] is False
    other, _ = await customer_ticket(sessions, user_id=902)
    async with client.post(panel.url(f"/api/tickets/{other}/messages"), json={"body": "Hi"}, headers=csrf) as r:
        assert r.status == 201
    async with sessions() as session:
        assert (await session.get(Ticket, other)).assignee_id is None
    async with client.get(panel.url(f"/api/tickets/{other}/history")) as r:
        assert (await r.json())["items"] == []


async def test_assign_to_me_and_every_assignment_is_an_event_in_the_history(panel: Panel, sessions: Any) -> None:
    client, csrf, me = await signed_in(panel, sessions, "mine@example.com")
    ticket_id, _ = await customer_ticket(sessions, user_id=903)
    ws = await client.ws_connect(panel.url("/ws"))
    try:
        async with client.patch(panel.url(f"/api/tickets/{ticket_id}"), json={"assignee_id": me}, headers=csrf) as r:
            assert r.status == 200 and (await r.json())["assignee_id"] == me
        async with client.patch(panel.url(f"/api/tickets/{ticket_id}"), json={"assignee_id": None},
                                headers=csrf) as r:
            assert r.status == 200
        from tests.web.harness import receive_until

        frames = await receive_until(ws, lambda f: f.get("type") == "ticket.assigned"
                                     and f["data"]["assignee_id"] is None)
    finally:
        await ws.close()
    assigned = [f["data"] for f in frames if f.get("type") == "ticket.assigned"]
    assert [(a["assignee_id"], a["previous_id"], a["via"]) for a in assigned] == [(me, None, "panel"),
                                                                                  (None, me, "panel")]
    async with client.get(panel.url(f"/api/tickets/{ticket_id}/history")) as r:
        history = (await r.json())["items"]
    assert [(h["action"], h["old"], h["new"], h["actor_name"]) for h in history] == [
        ("assignee_id", None, me, "Mine"), ("assignee_id", me, None, "Mine")]


async def test_history_of_a_ticket_another_cannot_see_is_404(panel: Panel, sessions: Any) -> None:
    partner, _, _ = await signed_in(panel, sessions, "partner@example.com", role="partner")
    ticket_id, _ = await customer_ticket(sessions, user_id=904)
    async with partner.get(panel.url(f"/api/tickets/{ticket_id}/history")) as r:
        assert r.status == 404


async def test_queue_names_in_the_readers_language_and_admins_set_both(panel: Panel, sessions: Any) -> None:
    russian, _, _ = await signed_in(panel, sessions, "ru@example.com", language="ru")
    admin, admin_csrf, _ = await signed_in(panel, sessions, "boss@example.com", role="admin")
    ticket_id, _ = await customer_ticket(sessions, user_id=905)
    async with russian.get(panel.url("/api/tickets")) as r:
        assert [row["queue_name"] for row in (await r.json())["items"]] == ["Общие вопросы"]
    async with russian.get(panel.url(f"/api/tickets/{ticket_id}")) as r:
        assert (await r.json())["queue_name"] == "Общие вопросы"
    async with admin.get(panel.url("/api/queues")) as r:
        queues = {q["slug"]: q for q in (await r.json())["items"]}
    assert (queues["technical"]["name"], queues["technical"]["name_ru"]) == ("Technical support",
                                                                            "Техническая поддержка")
    async with admin.post(panel.url("/api/queues"), json={"slug": "vip", "name": "VIP", "name_ru": "ВИП-клиенты"},
                          headers=admin_csrf) as r:
        assert r.status == 201
        vip = await r.json()
    assert (vip["display_name"], vip["assign_on_reply"]) == ("VIP", True)
    async with russian.get(panel.url("/api/queues")) as r:
        shown = {q["slug"]: q["display_name"] for q in (await r.json())["items"]}
    assert shown["vip"] == "ВИП-клиенты" and shown["billing"] == "Оплата и счета"
    async with admin.patch(panel.url(f"/api/queues/{vip['id']}"), json={"name_ru": ""}, headers=admin_csrf) as r:
        assert (await r.json())["name_ru"] is None
    async with russian.get(panel.url("/api/queues")) as r:
        assert {q["slug"]: q["display_name"] for q in (await r.json())["items"]}["vip"] == "VIP"
    async with admin.patch(panel.url(f"/api/queues/{vip['id']}"), json={"name_ru": "x" * 129},
                           headers=admin_csrf) as r:
        assert r.status == 422


async def test_bulk_assign_and_close_report_what_could_not_change(panel: Panel, sessions: Any) -> None:
    client, csrf, me = await signed_in(panel, sessions, "bulk@example.com")
    partner, partner_csrf, _ = await signed_in(panel, sessions, "bulk-partner@example.com", role="partner")
    ids = [(await customer_ticket(sessions, user_id=1000 + n, name=f"B{n}"))[0] for n in range(3)]
    async with client.post(panel.url("/api/tickets/bulk"), json={"ids": ids, "assignee_id": me}, headers=csrf) as r:
        assert r.status == 200
        assert await r.json() == {"changed": ids, "failed": {}}
    async with client.post(panel.url("/api/tickets/bulk"), json={"ids": ids[:2], "status": "closed"},
                           headers=csrf) as r:
        assert (await r.json())["changed"] == ids[:2]
    # closed -> waiting is not a transition: that ticket is reported, the open one still changes
    async with client.post(panel.url("/api/tickets/bulk"), json={"ids": [ids[0], ids[2], 999999],
                                                                 "status": "waiting_customer"}, headers=csrf) as r:
        result = await r.json()
    assert result == {"changed": [ids[2]], "failed": {str(ids[0]): "transition_not_allowed", "999999": "not_found"}}
    async with sessions() as session:
        tickets = {t.id: t for t in await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    assert [tickets[i].status for i in ids] == ["closed", "closed", "waiting_customer"]
    assert all(tickets[i].assignee_id == me for i in ids)
    for bad in ({"ids": ids}, {"ids": [], "status": "closed"}, {"ids": ids, "status": None},
                {"ids": list(range(1, 102)), "status": "closed"}, {"ids": ids, "status": "bogus"}):
        async with client.post(panel.url("/api/tickets/bulk"), json=bad, headers=csrf) as r:
            assert r.status == 422, bad
    async with partner.post(panel.url("/api/tickets/bulk"), json={"ids": ids, "status": "open"},
                            headers=partner_csrf) as r:
        assert r.status == 403
