"""Tickets, messages, notes, files and retries through the API, for every role."""

from __future__ import annotations

import io

from aiohttp import FormData
from sqlalchemy import select, update

from core.models import Message, OutboxItem
from tests.web.harness import Panel, customer_ticket, customer_writes, login, make_operator


async def signed_in(panel: Panel, sessions, email: str, role: str = "operator"):
    await make_operator(sessions, email, role=role)
    client = panel.client()
    csrf = await login(panel, client, email)
    return client, {"X-CSRF-Token": csrf}


async def test_operator_lists_filters_searches_and_pages_tickets(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "op@example.com")
    ids = [(await customer_ticket(sessions, user_id=600 + n, name=f"C{n}", body=f"question {n}"))[0] for n in range(5)]
    await customer_writes(sessions, ids[2], "the zebra tracking number is wrong")
    async with client.get(panel.url("/api/tickets?limit=2")) as r:
        page = await r.json()
    assert [t["id"] for t in page["items"]] == [ids[2], ids[4]]  # newest activity first
    seen = [t["id"] for t in page["items"]]
    while page["next_cursor"]:
        async with client.get(panel.url(f"/api/tickets?limit=2&cursor={page['next_cursor']}")) as r:
            page = await r.json()
        seen += [t["id"] for t in page["items"]]
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    async with client.get(panel.url("/api/tickets?q=zebra")) as r:
        assert [t["id"] for t in (await r.json())["items"]] == [ids[2]]
    async with client.get(panel.url("/api/tickets?q=100%25")) as r:
        assert (await r.json())["items"] == []  # % is a literal, not a wildcard
    async with client.get(panel.url("/api/tickets?assignee=mine")) as r:
        assert (await r.json())["items"] == []
    async with client.get(
        panel.url("/api/tickets?assignee=unassigned&channel=telegram&status=open&priority=medium")
    ) as r:
        assert len((await r.json())["items"]) == 5
    async with client.get(panel.url("/api/tickets?status=bogus&limit=1000&assignee=x")) as r:
        assert r.status == 422
        assert set((await r.json())["fields"]) == {"status.0", "limit", "assignee"}
    async with client.get(panel.url("/api/tickets?cursor=garbage")) as r:
        assert r.status == 422 and "cursor" in (await r.json())["fields"]


async def test_assign_prioritise_requeue_and_close_a_ticket(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    me = (await (await client.get(panel.url("/api/me"))).json())["id"]
    ticket_id, _ = await customer_ticket(sessions)
    change = {"assignee_id": me, "priority": "urgent", "queue_id": 1, "status": "waiting_customer"}
    async with client.patch(panel.url(f"/api/tickets/{ticket_id}"), json=change, headers=csrf) as r:
        assert r.status == 200
        card = await r.json()
    assert (card["assignee_id"], card["priority"], card["queue_id"], card["status"]) == (
        me,
        "urgent",
        1,
        "waiting_customer",
    )
    async with client.get(panel.url("/api/tickets?assignee=mine")) as r:
        assert [t["id"] for t in (await r.json())["items"]] == [ticket_id]
    async with client.patch(panel.url(f"/api/tickets/{ticket_id}"), json={"assignee_id": None}, headers=csrf) as r:
        assert (await r.json())["assignee_id"] is None
    async with client.patch(
        panel.url(f"/api/tickets/{ticket_id}"), json={"priority": "whenever", "queue_id": 0}, headers=csrf
    ) as r:
        assert r.status == 422
        assert set((await r.json())["fields"]) == {"priority", "queue_id"}
    async with client.patch(panel.url(f"/api/tickets/{ticket_id}"), json={"queue_id": 99999}, headers=csrf) as r:
        assert r.status == 422 and "queue_id" in (await r.json())["fields"]
    async with client.patch(panel.url(f"/api/tickets/{ticket_id}"), json={"status": None}, headers=csrf) as r:
        assert r.status == 422
    async with client.patch(panel.url(f"/api/tickets/{ticket_id}"), json={"status": "closed"}, headers=csrf) as r:
        assert (await r.json())["status"] == "closed"
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "late"}, headers=csrf) as r:
        assert r.status == 409 and (await r.json())["error"] == "ticket_closed"


async def test_a_customer_answer_ends_waiting_and_waiting_again_pauses_the_clock(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions)
    url = panel.url(f"/api/tickets/{ticket_id}")
    async with client.patch(url, json={"status": "waiting_customer"}, headers=csrf) as r:
        assert (await r.json())["status"] == "waiting_customer"
    await customer_writes(sessions, ticket_id, "here is the photo")
    async with client.get(url) as r:
        card = await r.json()
    assert (card["status"], card["sla_paused_at"]) == ("open", None) and card["ttr_due_at"]
    async with client.patch(url, json={"status": "waiting_customer"}, headers=csrf) as r:
        assert r.status == 200
        card = await r.json()
    assert card["status"] == "waiting_customer" and card["sla_paused_at"] and card["ttr_due_at"] is None


async def test_reply_is_stored_queued_once_and_a_double_click_sends_once(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions)
    reply = {"body": "We are on it <b>now</b>", "client_key": "k3y-0000-1111"}
    answers = []
    for _ in range(2):
        async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json=reply, headers=csrf) as r:
            assert r.status == 201
            answers.append(await r.json())
    assert answers[0]["id"] == answers[1]["id"]
    assert answers[0]["delivery_state"] == "queued" and answers[0]["body"] == reply["body"]
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxItem))).all()
    assert [(o.channel, o.kind, o.payload["message_id"]) for o in rows] == [("telegram", "reply", answers[0]["id"])]
    async with client.get(panel.url(f"/api/tickets/{ticket_id}/messages")) as r:
        bodies = [m["body"] for m in (await r.json())["items"]]
    assert bodies == ["Hello, my parcel is late", reply["body"]]
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "  "}, headers=csrf) as r:
        assert r.status == 422 and "body" in (await r.json())["fields"]
    async with client.post(
        panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "x" * 20_001}, headers=csrf
    ) as r:
        assert r.status == 422


async def test_notes_stay_internal_and_messages_page_after_an_id(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    ticket_id, first = await customer_ticket(sessions)
    second = await customer_writes(sessions, ticket_id, "any news?")
    async with client.post(
        panel.url(f"/api/tickets/{ticket_id}/notes"), json={"body": "VIP customer"}, headers=csrf
    ) as r:
        assert r.status == 201
    async with client.get(panel.url(f"/api/tickets/{ticket_id}/notes")) as r:
        assert [n["body"] for n in (await r.json())["items"]] == ["VIP customer"]
    async with client.get(panel.url(f"/api/tickets/{ticket_id}/messages?after={first}")) as r:
        assert [m["id"] for m in (await r.json())["items"]] == [second]
    async with sessions() as session:
        assert (await session.scalars(select(OutboxItem))).all() == []


async def test_reply_with_files_and_downloads_only_for_those_allowed(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    partner, _ = await signed_in(panel, sessions, "shop@example.com", role="partner")
    ticket_id, _ = await customer_ticket(sessions)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    form = FormData()
    form.add_field("body", "see attached")
    form.add_field("file", io.BytesIO(png), filename="shot.png", content_type="image/png")
    form.add_field("file", io.BytesIO(b"a,b\n"), filename="list.csv", content_type="text/csv")
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), data=form, headers=csrf) as r:
        assert r.status == 201, await r.text()
        files = (await r.json())["attachments"]
    assert [f["file_name"] for f in files] == ["shot.png", "list.csv"]
    image = files[0]["id"]
    async with client.get(panel.url(f"/api/attachments/{image}")) as r:
        assert await r.read() == png
        assert r.headers["Content-Disposition"].startswith("attachment;")
        assert r.headers["Content-Type"] == "application/octet-stream"
    async with client.get(panel.url(f"/api/attachments/{image}?preview=1")) as r:
        assert r.headers["Content-Type"] == "image/png" and r.headers["Content-Disposition"].startswith("inline;")
    async with client.get(panel.url(f"/api/attachments/{files[1]['id']}?preview=1")) as r:
        assert r.headers["Content-Disposition"].startswith("attachment;")  # only raster images preview
    async with partner.get(panel.url(f"/api/attachments/{image}")) as r:
        assert r.status == 404
    async with panel.client().get(panel.url(f"/api/attachments/{image}")) as r:
        assert r.status == 401
    bad = FormData()
    bad.add_field("file", io.BytesIO(b"MZ"), filename="run.exe", content_type="application/octet-stream")
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), data=bad, headers=csrf) as r:
        assert r.status == 415 and (await r.json())["error"] == "unsupported_type"


async def test_too_large_and_too_many_files_are_refused(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions)
    panel.desk.storage.max_bytes = 1000
    big = FormData()
    big.add_field("file", io.BytesIO(b"x" * 1001), filename="big.txt", content_type="text/plain")
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), data=big, headers=csrf) as r:
        assert r.status == 413 and "files" in (await r.json())["fields"]
    many = FormData()
    for n in range(11):
        many.add_field("file", io.BytesIO(b"x"), filename=f"{n}.txt", content_type="text/plain")
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), data=many, headers=csrf) as r:
        assert r.status == 422 and (await r.json())["fields"]["files"] == "At most 10 files per message."


async def test_failed_delivery_can_be_retried_once_through_the_same_outbox_row(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions)
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "hi"}, headers=csrf) as r:
        message_id = (await r.json())["id"]
    async with client.post(panel.url(f"/api/messages/{message_id}/retry"), headers=csrf) as r:
        assert r.status == 409  # still queued: nothing to retry
    async with sessions() as session, session.begin():
        await session.execute(update(OutboxItem).values(state="failed", attempts=12, last_error="boom"))
        await session.execute(
            update(Message).where(Message.id == message_id).values(delivery_state="failed", delivery_error="boom")
        )
    async with client.post(panel.url(f"/api/messages/{message_id}/retry"), headers=csrf) as r:
        assert r.status == 200
    async with sessions() as session:
        item = (await session.scalars(select(OutboxItem))).one()
        message = await session.get(Message, message_id)
    assert (item.state, item.attempts, item.last_error) == ("pending", 0, None)
    assert message is not None and message.delivery_state == "queued"


async def test_partner_sees_no_ticket_and_gets_404_not_403(panel: Panel, sessions) -> None:
    partner, csrf = await signed_in(panel, sessions, "shop@example.com", role="partner")
    ticket_id, message_id = await customer_ticket(sessions)
    for method, path, body in [
        ("GET", "/api/tickets", None),
        ("GET", f"/api/tickets/{ticket_id}", None),
        ("PATCH", f"/api/tickets/{ticket_id}", {"priority": "low"}),
        ("GET", f"/api/tickets/{ticket_id}/messages", None),
        ("POST", f"/api/tickets/{ticket_id}/messages", {"body": "hi"}),
        ("POST", f"/api/tickets/{ticket_id}/notes", {"body": "hi"}),
        ("POST", f"/api/messages/{message_id}/retry", None),
    ]:
        async with partner.request(method, panel.url(path), json=body, headers=csrf) as r:
            expected = 403 if path == "/api/tickets" else 404
            assert r.status == expected, (method, path, r.status)
    async with partner.get(panel.url(f"/api/tickets/{ticket_id + 1000}")) as r:
        missing = await r.json()
    async with partner.get(panel.url(f"/api/tickets/{ticket_id}")) as r:
        assert await r.json() == missing  # the same answer as for an id that does not exist
    async with partner.get(panel.url("/tickets/" + str(ticket_id))) as r:
        assert r.status == 403
    async with partner.get(panel.url("/api/me")) as r:
        assert (await r.json())["role"] == "partner"


async def test_anonymous_requests_get_401_everywhere(panel: Panel, sessions) -> None:
    ticket_id, _ = await customer_ticket(sessions)
    anonymous = panel.client()
    for method, path in [
        ("GET", "/api/tickets"),
        ("GET", f"/api/tickets/{ticket_id}"),
        ("GET", "/api/dashboard"),
        ("GET", "/api/ws/stats"),
        ("POST", "/api/queues"),
        ("GET", "/api/operators"),
        ("GET", "/api/tokens"),
        ("GET", "/api/saved-replies"),
    ]:
        async with anonymous.request(method, panel.url(path), json={}) as r:
            assert r.status == 401, (method, path)


async def test_mark_read_zeroes_the_unread_counter(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions)
    await customer_writes(sessions, ticket_id, "second")
    async with client.get(panel.url(f"/api/tickets/{ticket_id}")) as r:
        assert (await r.json())["unread_count"] == 2
    async with client.get(panel.url("/api/presence")) as r:
        assert (await r.json())["unread_total"] == 2
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/read"), headers=csrf) as r:
        assert r.status == 200
    async with client.get(panel.url(f"/api/tickets/{ticket_id}")) as r:
        card = await r.json()
    assert card["unread_count"] == 0
    assert card["contact"]["name"] == "Ann" and card["contact"]["telegram_username"] == "ann"


async def test_rating_lines_carry_their_key_so_the_panel_shows_them_in_the_operators_language(
    panel: Panel, sessions
) -> None:
    from core.models import Ticket
    from core.services import support

    client, csrf = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions)
    async with client.patch(panel.url(f"/api/tickets/{ticket_id}"), json={"status": "closed"}, headers=csrf) as r:
        assert r.status == 200
    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await support.rate_ticket(session, contact_id=ticket.contact_id, ticket_id=ticket_id, score=4)
        await support.comment_rating(session, contact_id=ticket.contact_id, ticket_id=ticket_id, comment="Fast {x}")
    async with client.get(panel.url(f"/api/tickets/{ticket_id}/messages")) as r:
        lines = [(m["body"], m["meta"]) for m in (await r.json())["items"] if m["author_kind"] == "system"]
    assert lines[-2:] == [("Rating: 4/5", {"line": "rating", "params": {"score": 4}}),
                          ("Rating comment: Fast {x}", {"line": "rating_comment", "params": {"comment": "Fast {x}"}})]
