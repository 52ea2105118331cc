"""The queue's auto-assign switch through the API: admins turn it on (operators get 403), and then a new
ticket reaches an online member of the queue, live and in the ticket's history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.models import Queue, Ticket
from tests.web.harness import Panel, customer_ticket, login, make_operator, receive_until


async def signed_in(panel: Panel, sessions: Any, email: str, role: str = "operator") -> Any:
    operator_id = await make_operator(sessions, email, role=role)
    client = panel.client()
    return client, {"X-CSRF-Token": await login(panel, client, email)}, operator_id


async def test_admins_switch_auto_assignment_and_operators_may_not(panel: Panel, sessions: Any) -> None:
    operator, operator_csrf, me = await signed_in(panel, sessions, "shift@example.com")
    admin, admin_csrf, _ = await signed_in(panel, sessions, "lead@example.com", role="admin")
    async with sessions() as session:
        general = await session.scalar(select(Queue.id).where(Queue.slug == "general"))
    async with operator.get(panel.url("/api/queues")) as r:
        assert {q["slug"]: q["auto_assign"] for q in (await r.json())["items"]}["general"] is False  # off by default

    async with operator.patch(panel.url(f"/api/queues/{general}"), json={"auto_assign": True},
                              headers=operator_csrf) as r:
        assert r.status == 403
    async with operator.post(panel.url("/api/queues"), json={"slug": "mine", "name": "Mine", "auto_assign": True},
                             headers=operator_csrf) as r:
        assert r.status == 403
    async with sessions() as session:
        assert await session.scalar(select(Queue.auto_assign).where(Queue.id == general)) is False
    async with admin.patch(panel.url(f"/api/queues/{general}"), json={"auto_assign": "yes please"},
                           headers=admin_csrf) as r:
        assert r.status == 422

    async with admin.patch(panel.url(f"/api/queues/{general}"), json={"auto_assign": True}, headers=admin_csrf) as r:
        assert r.status == 200 and (await r.json())["auto_assign"] is True
    async with admin.put(panel.url(f"/api/queues/{general}/members"), json={"operator_ids": [me]},
                         headers=admin_csrf) as r:
        assert r.status == 200

    ws = await operator.ws_connect(panel.url("/ws"))  # an open panel: the operator is online
    try:
        await receive_until(ws, lambda f: f.get("type") == "hello")
        ticket_id, _ = await customer_ticket(sessions, user_id=950)
        frames = await receive_until(ws, lambda f: f.get("type") == "ticket.assigned")
    finally:
        await ws.close()
    assert (frames[-1]["data"]["ticket_id"], frames[-1]["data"]["assignee_id"], frames[-1]["data"]["via"]) == (
        ticket_id, me, "auto")
    async with sessions() as session:
        assert (await session.get(Ticket, ticket_id)).assignee_id == me
    async with operator.get(panel.url(f"/api/tickets/{ticket_id}/history")) as r:
        history = (await r.json())["items"]
    assert [(h["action"], h["actor_kind"], h["new"], h["via"]) for h in history] == [
        ("assignee_id", "system", me, "auto")]

    async with admin.post(panel.url("/api/queues"), json={"slug": "night", "name": "Night", "auto_assign": True},
                          headers=admin_csrf) as r:
        assert r.status == 201 and (await r.json())["auto_assign"] is True
