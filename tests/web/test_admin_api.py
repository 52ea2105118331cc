"""Administration APIs: only admins may use them; operators get 403, partners too."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AuditLog, Ticket
from core.services import tickets
from tests.web.harness import PASSWORD, Panel, customer_ticket, login, make_operator
from tests.web.test_ticket_api import signed_in

ADMIN_CALLS = [
    ("POST", "/api/operators", {"email": "x@example.com", "role": "operator"}),
    ("PATCH", "/api/operators/{other}", {"is_active": False}),
    ("POST", "/api/operators/{other}/reset", None),
    ("POST", "/api/queues", {"slug": "vip", "name": "VIP"}),
    ("PATCH", "/api/queues/1", {"name": "Tech"}),
    ("POST", "/api/saved-replies", {"shortcut": "hi", "title": "Hi", "body": "Hello!"}),
    ("GET", "/api/ws/stats", None),
]


async def test_operators_and_partners_cannot_use_admin_apis(panel: Panel, sessions) -> None:
    other = await make_operator(sessions, "other@example.com")
    for role in ("operator", "partner"):
        client, csrf = await signed_in(panel, sessions, f"{role}1@example.com", role=role)
        for method, path, body in ADMIN_CALLS:
            async with client.request(method, panel.url(path.format(other=other)), json=body, headers=csrf) as r:
                assert r.status == 403, (role, method, path, r.status)
                assert (await r.json())["error"] == "forbidden"
        async with client.get(panel.url("/admin/operators")) as r:
            assert r.status == 403


async def test_admin_disables_an_operator_whose_sessions_and_tokens_stop_working(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    victim_id = await make_operator(sessions, "leaver@example.com")
    leaver = panel.client()
    leaver_csrf = await login(panel, leaver, "leaver@example.com")
    async with leaver.post(panel.url("/api/tokens"), json={"name": "cron"}, headers={"X-CSRF-Token": leaver_csrf}) as r:
        token = (await r.json())["token"]
    async with admin.patch(panel.url(f"/api/operators/{victim_id}"), json={"is_active": False}, headers=csrf) as r:
        assert r.status == 200 and (await r.json())["is_active"] is False
    async with leaver.get(panel.url("/api/me")) as r:
        assert r.status == 401
    async with panel.client().get(panel.url("/api/me"), headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 401
    async with panel.client().post(
        panel.url("/api/auth/login"), json={"email": "leaver@example.com", "password": PASSWORD}
    ) as r:
        assert r.status == 401
    me = (await (await admin.get(panel.url("/api/me"))).json())["id"]
    async with admin.patch(panel.url(f"/api/operators/{me}"), json={"is_active": False}, headers=csrf) as r:
        assert r.status == 403  # an admin cannot lock themselves out


async def test_disabling_in_the_panel_returns_open_tickets_to_their_queues_and_says_which(
        panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    leaver_id = await make_operator(sessions, "leaver@example.com")
    open_id, _ = await customer_ticket(sessions, user_id=7401)
    closed_id, _ = await customer_ticket(sessions, user_id=7402)
    async with sessions() as session, session.begin():
        for ticket_id in (open_id, closed_id):
            await tickets.assign(session, ticket_id, leaver_id, actor_kind="system", actor_id=None)
        await tickets.change_status(session, closed_id, "closed", actor_kind="system", actor_id=None)
    async with admin.patch(panel.url(f"/api/operators/{leaver_id}"), json={"is_active": False}, headers=csrf) as r:
        answer = await r.json()
        assert r.status == 200 and answer["is_active"] is False and answer["tickets_returned"] == [open_id]
    async with sessions() as session:
        assert (await session.get(Ticket, open_id)).assignee_id is None  # as `desk operator disable` does
        assert (await session.get(Ticket, closed_id)).assignee_id == leaver_id  # a closed one keeps its history
        audit = await session.scalar(select(AuditLog).where(AuditLog.action.like("ticket.assign%"),
                                                            AuditLog.object_id == open_id).order_by(AuditLog.id.desc()))
    me = (await (await admin.get(panel.url("/api/me"))).json())["id"]
    assert audit is not None and (audit.actor_kind, audit.actor_id, audit.data["new"]) == ("operator", me, None)
    async with admin.patch(panel.url(f"/api/operators/{leaver_id}"), json={"is_active": True}, headers=csrf) as r:
        assert r.status == 200 and (await r.json())["tickets_returned"] == []


async def test_admin_reset_signs_the_operator_out_revokes_tokens_and_issues_a_link(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    target = await make_operator(sessions, "forgot@example.com")
    forgot = panel.client()
    forgot_csrf = await login(panel, forgot, "forgot@example.com")
    async with forgot.post(panel.url("/api/tokens"), json={"name": "cron"}, headers={"X-CSRF-Token": forgot_csrf}) as r:
        bearer = {"Authorization": f"Bearer {(await r.json())['token']}"}
    async with panel.client().get(panel.url("/api/me"), headers=bearer) as r:
        assert r.status == 200
    async with admin.post(panel.url(f"/api/operators/{target}/reset"), headers=csrf) as r:
        link = (await r.json())["link"]
    assert link.startswith(panel.origin + "/password#")
    async with forgot.get(panel.url("/api/me")) as r:
        assert r.status == 401
    async with panel.client().get(panel.url("/api/me"), headers=bearer) as r:
        assert r.status == 401  # "signs out everywhere": the personal token minted before is dead too
    async with panel.client().post(
        panel.url("/api/auth/login"), json={"email": "forgot@example.com", "password": PASSWORD}
    ) as r:
        assert r.status == 401  # the old password is gone


async def test_queues_and_saved_replies_are_managed_by_admins_and_read_by_operators(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    operator, _ = await signed_in(panel, sessions, "op@example.com")
    async with admin.post(panel.url("/api/queues"), json={"slug": "vip-x", "name": "VIP"}, headers=csrf) as r:
        assert r.status == 201
        queue = await r.json()
    async with admin.post(panel.url("/api/queues"), json={"slug": "vip-x", "name": "Again"}, headers=csrf) as r:
        assert r.status == 409
    async with admin.post(panel.url("/api/queues"), json={"slug": "Bad Slug!", "name": "x"}, headers=csrf) as r:
        assert r.status == 422 and "slug" in (await r.json())["fields"]
    async with admin.patch(
        panel.url(f"/api/queues/{queue['id']}"), json={"customer_visible": False}, headers=csrf
    ) as r:
        assert (await r.json())["customer_visible"] is False
    async with operator.get(panel.url("/api/queues")) as r:
        assert "vip-x" in [q["slug"] for q in (await r.json())["items"]]
    reply = {"shortcut": "/refund", "title": "Refund", "body": "Your refund is on its way.", "language": "en"}
    async with admin.post(panel.url("/api/saved-replies"), json=reply, headers=csrf) as r:
        assert r.status == 201
        saved = await r.json()
    assert saved["shortcut"] == "refund"
    async with operator.get(panel.url("/api/saved-replies")) as r:
        assert [s["shortcut"] for s in (await r.json())["items"]] == ["refund"]
    async with admin.delete(panel.url(f"/api/saved-replies/{saved['id']}"), headers=csrf) as r:
        assert r.status == 200
    from sqlalchemy import delete

    from core.models import Queue

    async with sessions() as session, session.begin():  # seeded table: not wiped between tests
        await session.execute(delete(Queue).where(Queue.slug == "vip-x"))


async def test_operator_list_hides_emails_from_non_admins(panel: Panel, sessions) -> None:
    admin, _ = await signed_in(panel, sessions, "root@example.com", role="admin")
    operator, _ = await signed_in(panel, sessions, "op@example.com")
    async with operator.get(panel.url("/api/operators")) as r:
        assert {o["email"] for o in (await r.json())["items"]} == {None}
    async with admin.get(panel.url("/api/operators")) as r:
        assert {o["email"] for o in (await r.json())["items"]} == {"root@example.com", "op@example.com"}


async def test_ws_stats_and_dashboard(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    ticket_id, _ = await customer_ticket(sessions)
    async with admin.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "hi"}, headers=csrf) as r:
        assert r.status == 201
    async with admin.get(panel.url("/api/ws/stats")) as r:
        stats = await r.json()
    assert stats["listener_alive"] is True and stats["last_event_id"] >= 4
    assert stats["outbox"]["pending"] == 1 and stats["sockets"] == {"admin": 0, "operator": 0, "partner": 0}
    async with admin.get(panel.url("/api/dashboard?days=7")) as r:
        figures = await r.json()
        assert r.status == 200, figures
    assert figures["by_status"] == {"in_progress": 1} and figures["by_channel"] == {"telegram": 1}
    assert figures["first_response"]["count"] == 1
    async with admin.get(panel.url("/api/dashboard?days=365")) as r:  # a year: from the daily rollups
        assert (await r.json())["by_status"] == {"in_progress": 1}
    async with admin.get(panel.url("/api/dashboard?days=367")) as r:
        assert r.status == 422
    async with admin.get(panel.url("/dashboard?days=30")) as r:
        html = await r.text()
    assert r.status == 200 and "<svg" in html


async def test_every_operator_sees_the_teams_figures(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    operator, _ = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions)
    async with admin.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "hi"}, headers=csrf) as r:
        assert r.status == 201
    async with operator.get(panel.url("/api/dashboard?days=7")) as r:
        assert r.status == 200
        team = {row["name"]: row for row in (await r.json())["team"]}
    assert set(team) == {"Root", "Op"}  # an operator sees the whole team, not only their own row
    assert team["Root"]["replies"] == 1 and team["Root"]["first_response_median"] is not None
    assert team["Root"]["open_now"] == 1  # the reply assigned the ticket
    assert team["Op"] == {**team["Op"], "replies": 0, "first_response_median": None, "csat_average": None,
                          "csat_count": 0, "open_now": 0}
    async with operator.get(panel.url("/dashboard?days=7")) as r:
        html = await r.text()
    assert 'id="team-table"' in html and "<td class=\"num first-response\">—</td>" in html
    partner, _ = await signed_in(panel, sessions, "shop@example.com", role="partner")
    async with partner.get(panel.url("/api/dashboard?days=7")) as r:
        assert r.status == 403
    async with panel.client().get(panel.url("/api/dashboard?days=7")) as r:
        assert r.status == 401


async def test_openapi_document_is_generated_from_the_request_models(panel: Panel, sessions) -> None:
    async with panel.client().get(panel.url("/api/openapi.json")) as r:
        doc = await r.json()
    assert doc["openapi"].startswith("3.")
    patch = doc["paths"]["/api/tickets/{id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/TicketPatch"
    assert set(doc["components"]["schemas"]["TicketPatch"]["properties"]) == {
        "status",
        "priority",
        "queue_id",
        "assignee_id",
    }
    query = {p["name"] for p in doc["paths"]["/api/tickets"]["get"]["parameters"]}
    assert {"status", "queue_id", "assignee", "channel", "priority", "q", "cursor", "limit"} <= query
    for path in ("/api/tickets/{id}/messages", "/api/tickets/{id}/notes", "/api/ws/stats", "/api/auth/login"):
        assert path in doc["paths"]
