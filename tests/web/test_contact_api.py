"""Contacts through the API: a contact with its identities, and merging two (operators and admins)."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AuditLog, Ticket
from core.services import conversations
from tests.contacts import make_contact
from tests.web.harness import Panel, customer_ticket, login, make_operator, receive_until


async def signed_in(panel: Panel, sessions, email: str, role: str = "operator"):
    await make_operator(sessions, email, role=role)
    client = panel.client()
    csrf = await login(panel, client, email)
    return client, {"X-CSRF-Token": csrf}


async def test_operator_merges_an_email_contact_into_a_telegram_one(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions, user_id=901, name="Ann")
    async with sessions() as session, session.begin():
        keep_id = (await session.get(Ticket, ticket_id)).contact_id
        other = await make_contact(session, email="Ann@Example.com", name="Ann")
        mail_ticket, _ = await conversations.open_ticket(session, contact=other, channel="email", queue_slug="email",
                                                         subject="invoice")
        other_id, mail_ticket_id = other.id, mail_ticket.id
    async with client.post(panel.url(f"/api/contacts/{keep_id}/merge"), json={"other_id": other_id}) as r:
        assert r.status == 403  # no CSRF token
    async with client.post(panel.url(f"/api/contacts/{keep_id}/merge"), json={"other_id": other_id},
                           headers=csrf) as r:
        assert r.status == 200, await r.text()
        merged = await r.json()
    assert merged["id"] == keep_id
    assert [(i["channel"], i["external_id"]) for i in merged["identities"]] == [
        ("telegram", "901"), ("email", "ann@example.com")]
    async with client.get(panel.url(f"/api/contacts/{other_id}")) as r:
        assert r.status == 404
    async with client.get(panel.url(f"/api/contacts/{keep_id}")) as r:
        assert r.status == 200 and (await r.json())["identities"] == merged["identities"]
    async with client.get(panel.url(f"/api/tickets/{mail_ticket_id}")) as r:
        card = (await r.json())["contact"]
    assert (card["id"], card["email"], card["telegram_username"]) == (keep_id, "ann@example.com", "ann")
    assert len(card["identities"]) == 2 and [t["id"] for t in card["earlier_tickets"]] == [ticket_id]
    async with sessions() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "contact.merge"))
    assert audit is not None and audit.object_id == keep_id and audit.data["other_id"] == other_id


async def test_merge_refusals_partner_unknown_ids_self_and_two_live_tickets(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    partner, partner_csrf = await signed_in(panel, sessions, "shop@example.com", role="partner")
    first, _ = await customer_ticket(sessions, user_id=911, name="Ann")
    second, _ = await customer_ticket(sessions, user_id=912, name="Bob")
    async with sessions() as session:
        keep_id = (await session.get(Ticket, first)).contact_id
        other_id = (await session.get(Ticket, second)).contact_id
    merge = f"/api/contacts/{keep_id}/merge"
    async with partner.post(panel.url(merge), json={"other_id": other_id}, headers=partner_csrf) as r:
        assert r.status == 403
    async with partner.get(panel.url(f"/api/contacts/{keep_id}")) as r:
        assert r.status == 403
    async with client.post(panel.url(merge), json={"other_id": 999999}, headers=csrf) as r:
        assert r.status == 404
    async with client.post(panel.url("/api/contacts/999999/merge"), json={"other_id": other_id}, headers=csrf) as r:
        assert r.status == 404
    async with client.post(panel.url(merge), json={"other_id": keep_id}, headers=csrf) as r:
        assert r.status == 422
    async with client.post(panel.url(merge), json={"other_id": other_id}, headers=csrf) as r:
        assert r.status == 409  # both have a live Telegram ticket: the operator closes one first
        assert (await r.json())["error"] == "conflict"
    async with client.patch(panel.url(f"/api/tickets/{second}"), json={"status": "closed"}, headers=csrf) as r:
        assert r.status == 200
    async with client.post(panel.url(merge), json={"other_id": other_id}, headers=csrf) as r:
        assert r.status == 200
        assert {i["external_id"] for i in (await r.json())["identities"]} == {"911", "912"}


async def test_open_inboxes_learn_which_tickets_moved_in_a_merge(panel: Panel, sessions) -> None:
    client, csrf = await signed_in(panel, sessions, "op@example.com")
    kept_ticket, _ = await customer_ticket(sessions, user_id=921, name="Ann")
    async with sessions() as session, session.begin():
        keep_id = (await session.get(Ticket, kept_ticket)).contact_id
        other = await make_contact(session, email="ann@example.com", name="Ann")
        moved = [(await conversations.open_ticket(session, contact=other, channel="email", queue_slug="email",
                                                  subject=subject))[0].id for subject in ("invoice", "refund")]
        other_id = other.id
    ws = await client.ws_connect(panel.url("/ws"), headers={"Origin": panel.origin})
    hello = await ws.receive_json()
    await ws.send_json({"type": "resume", "after": hello["last_event_id"]})
    async with client.post(panel.url(f"/api/contacts/{keep_id}/merge"), json={"other_id": other_id},
                           headers=csrf) as r:
        assert r.status == 200, await r.text()
    frames = await receive_until(ws, lambda f: f.get("type") == "ticket.updated" and f["data"]["id"] == moved[-1])
    updated = [f["data"] for f in frames if f.get("type") == "ticket.updated"]
    assert [(t["id"], t["contact_id"], t["subject"]) for t in updated] == [
        (moved[0], keep_id, "invoice"), (moved[1], keep_id, "refund")]
    await ws.close()
