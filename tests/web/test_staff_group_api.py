"""The staff group in the panel: staff read the linked groups and their state (in their language), admins
unlink, everyone on staff gets a one-time Telegram link; a broken group shows on /healthz."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import AuditLog, OperatorLinkToken, Queue, StaffGroup, TicketTopic
from tests.web.harness import Panel, customer_ticket, login, make_operator


async def _group(sessions: async_sessionmaker[AsyncSession], state: str = "ok") -> int:
    async with sessions() as session, session.begin():
        group = StaffGroup(chat_id=-1001, title="Support <staff>", state=state,
                           problem="Bad Request: the chat is not a forum" if state != "ok" else None)
        session.add(group)
        await session.flush()
        return group.id


async def test_staff_read_groups_admins_unlink_partners_are_refused(panel: Panel, sessions) -> None:
    group_id = await _group(sessions, "not_forum")
    await make_operator(sessions, "root@example.com", role="admin", language="ru")
    await make_operator(sessions, "op@example.com", role="operator")
    await make_operator(sessions, "partner@example.com", role="partner")
    admin, operator, partner = panel.client(), panel.client(), panel.client()
    admin_csrf = {"X-CSRF-Token": await login(panel, admin, "root@example.com")}
    operator_csrf = {"X-CSRF-Token": await login(panel, operator, "op@example.com")}
    partner_csrf = {"X-CSRF-Token": await login(panel, partner, "partner@example.com")}

    async with admin.get(panel.url("/api/staff-groups")) as r:
        page = await r.json()
    assert r.status == 200 and page["telegram_linked"] is False
    assert page["items"] == [{"id": group_id, "chat_id": -1001, "title": "Support <staff>", "queue_id": None,
                              "queue_name": None, "state": "not_forum",
                              "state_text": "Не форум: включите «Темы» в настройках группы",
                              "problem": "Bad Request: the chat is not a forum"}]
    async with operator.get(panel.url("/api/staff-groups")) as r:
        assert r.status == 200 and (await r.json())["items"][0]["state_text"].startswith("Not a forum")
    async with operator.get(panel.url("/admin/staff-group")) as r:
        assert r.status == 200
    async with partner.get(panel.url("/api/staff-groups")) as r:
        assert r.status == 403
    async with partner.post(panel.url("/api/staff-groups/telegram-link"), headers=partner_csrf) as r:
        assert r.status == 403

    async with operator.post(panel.url("/api/staff-groups/telegram-link"), headers=operator_csrf) as r:
        made = await r.json()
    assert r.status == 201 and made["start"].startswith("link_")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OperatorLinkToken)) == 1

    async with operator.delete(panel.url(f"/api/staff-groups/{group_id}"), headers=operator_csrf) as r:
        assert r.status == 403
    async with admin.delete(panel.url(f"/api/staff-groups/{group_id}")) as r:
        assert r.status == 403  # no CSRF token
    async with admin.delete(panel.url(f"/api/staff-groups/{group_id}"), headers=admin_csrf) as r:
        assert r.status == 204
    async with admin.delete(panel.url(f"/api/staff-groups/{group_id}"), headers=admin_csrf) as r:
        assert r.status == 404
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StaffGroup)) == 0


async def test_a_broken_group_shows_on_healthz_without_failing_it(panel: Panel, sessions) -> None:
    client = panel.client()
    await _group(sessions, "removed")
    async with client.get(panel.url("/healthz")) as r:
        body = await r.json()
    assert r.status == 200
    assert body["components"]["staff_group"] == "removed"
    assert "Support <staff>: removed" in body["details"]["staff_group"]["error"]
    async with sessions() as session, session.begin():
        group = await session.scalar(select(StaffGroup))
        group.state = "ok"
    async with client.get(panel.url("/healthz")) as r:
        assert (await r.json())["components"]["staff_group"] == "ok"


def _samples(text: str, name: str) -> dict[str, float]:
    return {line.split(" ")[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith(name + "{")}


async def test_a_broken_group_is_down_in_metrics(panel: Panel, sessions) -> None:
    client = panel.client()
    group_id = await _group(sessions, "no_rights")
    async with client.get(panel.url("/metrics")) as r:
        text = await r.text()
    assert r.status == 200
    assert _samples(text, "desk_component_up")['desk_component_up{component="staff_group",state="no_rights"}'] == 0
    assert _samples(text, "desk_staff_group_up") == {
        f'desk_staff_group_up{{group="{group_id}",chat="-1001",queue="default",state="no_rights"}}': 0}
    async with sessions() as session, session.begin():
        group = await session.scalar(select(StaffGroup))
        group.state = "ok"
    async with client.get(panel.url("/metrics")) as r:
        text = await r.text()
    assert _samples(text, "desk_component_up")['desk_component_up{component="staff_group",state="ok"}'] == 1
    assert _samples(text, "desk_staff_group_up") == {
        f'desk_staff_group_up{{group="{group_id}",chat="-1001",queue="default",state="ok"}}': 1}


async def test_admins_choose_the_queue_a_group_serves_operators_only_see_it(panel: Panel, sessions) -> None:
    group_id = await _group(sessions)
    async with sessions() as session, session.begin():
        general = await session.scalar(select(Queue).where(Queue.slug == "general"))
        other = await session.scalar(select(Queue).where(Queue.slug != "general").limit(1))
        session.add(StaffGroup(chat_id=-1002, title="Other staff", queue_id=other.id, state="ok"))
    ticket_id, _ = await customer_ticket(sessions)  # open before the group serves its queue: no topic yet
    await make_operator(sessions, "root@example.com", role="admin")
    await make_operator(sessions, "op@example.com", role="operator")
    admin, operator = panel.client(), panel.client()
    admin_csrf = {"X-CSRF-Token": await login(panel, admin, "root@example.com")}
    operator_csrf = {"X-CSRF-Token": await login(panel, operator, "op@example.com")}
    url = panel.url(f"/api/staff-groups/{group_id}")

    async with operator.patch(url, json={"queue_id": general.id}, headers=operator_csrf) as r:
        assert r.status == 403
    async with admin.patch(url, json={"queue_id": general.id}) as r:
        assert r.status == 403  # no CSRF token
    async with admin.patch(url, json={"queue_id": other.id}, headers=admin_csrf) as r:
        assert r.status == 409  # "Other staff" serves it
    async with admin.patch(url, json={"queue_id": 999999}, headers=admin_csrf) as r:
        assert r.status == 404
    async with admin.patch(url, json={"queue": "general"}, headers=admin_csrf) as r:
        assert r.status == 422
    async with sessions() as session:
        assert (await session.get(StaffGroup, group_id)).queue_id is None

    async with admin.patch(url, json={"queue_id": general.id}, headers=admin_csrf) as r:
        saved = await r.json()
    assert r.status == 200
    assert (saved["queue_id"], saved["queue_name"], saved["topics"]) == (general.id, general.name, 1)
    async with sessions() as session:
        topic = await session.get(TicketTopic, ticket_id)
        assert topic is not None and topic.chat_id == -1001 and topic.thread_id is None
        audited = await session.scalar(select(AuditLog).where(AuditLog.action == "staff_group.queue_changed"))
        assert audited.data == {"queue_id": general.id}
    async with operator.get(panel.url("/api/staff-groups")) as r:
        seen = {item["id"]: item["queue_id"] for item in (await r.json())["items"]}
    assert seen[group_id] == general.id

    async with admin.patch(url, json={"queue_id": None}, headers=admin_csrf) as r:
        back = await r.json()
    assert r.status == 200 and back["queue_id"] is None and back["queue_name"] is None
