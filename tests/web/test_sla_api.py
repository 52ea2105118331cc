"""SLA settings through the panel API: staff read, admins edit, bad input is a field-by-field 422, and
a new ticket's deadlines follow what the admin set (policy and business hours)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.models import AuditLog, Queue, Ticket
from tests.web.harness import Panel, customer_ticket, login, make_operator
from tests.web.test_ticket_api import signed_in


async def _general(sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(Queue.id).where(Queue.slug == "general")))


async def test_admin_sets_a_policy_and_new_tickets_follow_it(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    operator, operator_csrf = await signed_in(panel, sessions, "op@example.com")
    async with operator.get(panel.url("/api/sla/policies")) as r:
        policies = {p["priority"]: p for p in (await r.json())["items"]}
    assert policies["urgent"] == {"priority": "urgent", "first_response_minutes": 15, "resolution_minutes": 240,
                                  "custom": False}
    async with operator.put(panel.url("/api/sla/policies/medium"), headers=operator_csrf,
                            json={"first_response_minutes": 5, "resolution_minutes": 60}) as r:
        assert r.status == 403
    for body, fields in (({"first_response_minutes": 0, "resolution_minutes": 60}, {"first_response_minutes"}),
                         ({"first_response_minutes": 90, "resolution_minutes": 60}, {"first_response"}),
                         ({"first_response_minutes": "soon"}, {"first_response_minutes", "resolution_minutes"})):
        async with admin.put(panel.url("/api/sla/policies/medium"), json=body, headers=csrf) as r:
            assert r.status == 422 and set((await r.json())["fields"]) == fields, body
    async with admin.put(panel.url("/api/sla/policies/whenever"), headers=csrf,
                         json={"first_response_minutes": 5, "resolution_minutes": 60}) as r:
        assert r.status == 422
    async with admin.put(panel.url("/api/sla/policies/medium"), headers=csrf,
                         json={"first_response_minutes": 7, "resolution_minutes": 90}) as r:
        assert r.status == 200 and (await r.json())["custom"] is True

    ticket_id, _ = await customer_ticket(sessions)
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.priority == "medium"
        assert abs(ticket.frt_due_at - ticket.created_at - timedelta(minutes=7)) < timedelta(seconds=1)

    async with admin.delete(panel.url("/api/sla/policies/medium"), headers=csrf) as r:
        assert (await r.json())["first_response_minutes"] == 240
    async with sessions() as session:
        actions = list(await session.scalars(select(AuditLog.action).where(AuditLog.action.like("sla.%"))))
    assert sorted(actions) == ["sla.policy", "sla.policy.reset"]


async def test_business_hours_holidays_and_queue_members(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    operator_id = await make_operator(sessions, "op@example.com")
    partner_id = await make_operator(sessions, "shop@example.com", role="partner")
    queue_id = await _general(sessions)
    async with admin.get(panel.url(f"/api/queues/{queue_id}/hours")) as r:
        assert await r.json() == {"queue_id": queue_id, "time_zone": None, "weekly": None, "holidays": []}
    bad = [
        ({"time_zone": "Mars/Base", "weekly": {"mon": [["09:00", "18:00"]]}}, "time_zone"),
        ({"time_zone": "Europe/Moscow", "weekly": {"mon": [["18:00", "09:00"]]}}, "weekly"),
        ({"time_zone": "Europe/Moscow", "weekly": {"mon": [["9am", "6pm"]]}}, "weekly"),
        ({"time_zone": "Europe/Moscow", "weekly": {"funday": [["09:00", "18:00"]]}}, "weekly.funday.[key]"),
        ({"time_zone": "Europe/Moscow", "weekly": {"mon": [["09:00", "18:00"]]},
          "holidays": [{"day": "2026-13-45"}]}, "holidays"),
    ]
    for body, field in bad:
        async with admin.put(panel.url(f"/api/queues/{queue_id}/hours"), json=body, headers=csrf) as r:
            answer = await r.json()
            assert r.status == 422 and field in answer["fields"], (body, answer)
    week = {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "tue": [["09:00", "18:00"]]}
    async with admin.put(panel.url(f"/api/queues/{queue_id}/hours"), headers=csrf, json={
        "time_zone": "Europe/Moscow", "weekly": week, "holidays": [{"day": "2026-12-31", "name": "New Year's Eve"}],
    }) as r:
        assert r.status == 200
        saved = await r.json()
    assert saved["weekly"] == week and saved["holidays"] == [{"day": "2026-12-31", "name": "New Year's Eve"}]

    # A ticket opened now (Moscow evening or later) is due within working time only.
    ticket_id, _ = await customer_ticket(sessions)
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.frt_due_at is not None
    local = ticket.frt_due_at.astimezone(ZoneInfo("Europe/Moscow"))
    assert local.weekday() in (0, 1) and 9 * 60 < local.hour * 60 + local.minute <= 18 * 60

    async with admin.delete(panel.url(f"/api/queues/{queue_id}/hours"), headers=csrf) as r:
        assert (await r.json())["time_zone"] is None

    async with admin.put(panel.url(f"/api/queues/{queue_id}/members"), json={"operator_ids": [partner_id]},
                         headers=csrf) as r:
        assert r.status == 422 and "operator_ids" in (await r.json())["fields"]
    async with admin.put(panel.url(f"/api/queues/{queue_id}/members"), json={"operator_ids": [operator_id]},
                         headers=csrf) as r:
        assert r.status == 200 and (await r.json())["operator_ids"] == [operator_id]
    operator, operator_csrf = await signed_in(panel, sessions, "op2@example.com")
    async with operator.get(panel.url(f"/api/queues/{queue_id}/members")) as r:
        assert (await r.json())["operator_ids"] == [operator_id]
    async with operator.put(panel.url(f"/api/queues/{queue_id}/members"), json={"operator_ids": []},
                            headers=operator_csrf) as r:
        assert r.status == 403
    async with operator.get(panel.url("/admin/sla")) as r:
        assert r.status == 403
    async with admin.get(panel.url("/admin/sla")) as r:
        assert r.status == 200 and "Business hours" in await r.text()


async def test_field_errors_explain_themselves_in_the_admins_language(panel: Panel, sessions) -> None:
    await make_operator(sessions, "root@example.com", role="admin", language="ru")
    admin = panel.client()
    csrf = {"X-CSRF-Token": await login(panel, admin, "root@example.com")}
    queue_id = await _general(sessions)
    async with admin.put(panel.url(f"/api/queues/{queue_id}/hours"), headers=csrf,
                         json={"time_zone": "Europe/Moscow", "weekly": {"mon": [["9am", "6pm"]]}}) as r:
        assert (await r.json())["fields"] == {"weekly": "Время указывается как ЧЧ:ММ."}
    async with admin.put(panel.url("/api/sla/policies/high"), headers=csrf,
                         json={"first_response_minutes": 600, "resolution_minutes": 60}) as r:
        assert (await r.json())["fields"] == {"first_response": "Первый ответ не может быть позже решения."}
    async with admin.post(panel.url("/api/stores"), headers=csrf, json={"name": "   "}) as r:
        assert (await r.json())["fields"] == {"name": "Название магазина — от 1 до 128 символов."}
