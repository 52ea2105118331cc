"""Dead letters in the admin API: listed for admins only (live over /ws), "Try again" with CSRF, the
source in the admin's language, and the routes in /api/openapi.json."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import dead_letters
from core.models import AuditLog, DeadLetter
from tests.web.harness import Panel, drain, login, make_operator, receive_until
from tests.web.test_ws import connect


async def dead_letter(sessions: async_sessionmaker[AsyncSession], update_id: int | None = 77) -> int:
    async with sessions() as session, session.begin():
        return await dead_letters.record(session, source="telegram", external_id=None if update_id is None else
                                         str(update_id), payload='{"update_id": 77}', error="ValueError: boom")


async def test_admins_list_and_retry_dead_letters_others_are_refused(panel: Panel, sessions) -> None:
    await make_operator(sessions, "root@example.com", role="admin", language="ru")
    admin = panel.client()
    csrf = {"X-CSRF-Token": await login(panel, admin, "root@example.com")}
    admin_ws, _ = await connect(panel, admin, after=None)
    others = []
    for role in ("operator", "partner"):
        await make_operator(sessions, f"{role}@example.com", role=role)
        client = panel.client()
        others.append((client, {"X-CSRF-Token": await login(panel, client, f"{role}@example.com")}))
    operator_ws, _ = await connect(panel, others[0][0], after=None)

    letter_id = await dead_letter(sessions)
    recorded = await receive_until(admin_ws, lambda f: f.get("type") == "dead_letter.recorded")
    assert recorded[-1]["data"]["id"] == letter_id
    assert not [f for f in await drain(operator_ws, 0.3) if f.get("type", "").startswith("dead_letter")]

    async with admin.get(panel.url("/api/dead-letters")) as r:
        items = (await r.json())["items"]
    assert r.status == 200 and len(items) == 1
    assert items[0] | {"created_at": None, "updated_at": None} == {
        "id": letter_id, "source": "telegram", "source_text": "Telegram", "external_id": "77",
        "error": "ValueError: boom", "state": "failed", "attempts": 1, "payload": '{"update_id": 77}',
        "created_at": None, "updated_at": None, "resolved_at": None}
    for client, headers in others:
        async with client.get(panel.url("/api/dead-letters")) as r:
            assert r.status == 403
        async with client.post(panel.url(f"/api/dead-letters/{letter_id}/retry"), headers=headers) as r:
            assert r.status == 403
        async with client.get(panel.url("/admin/dead-letters")) as r:
            assert r.status == 403
    async with admin.post(panel.url(f"/api/dead-letters/{letter_id}/retry")) as r:
        assert r.status == 403 and (await r.json())["error"] == "csrf"
    async with admin.post(panel.url(f"/api/dead-letters/{letter_id + 1000}/retry"), headers=csrf) as r:
        assert r.status == 404 and (await r.json())["message"] == "Не найдено."
    async with admin.get(panel.url("/api/dead-letters?limit=0")) as r:
        assert r.status == 422 and "limit" in (await r.json())["fields"]

    async with admin.post(panel.url(f"/api/dead-letters/{letter_id}/retry"), headers=csrf) as r:
        asked = await r.json()
    assert r.status == 200 and asked["state"] == "retry" and asked["source_text"] == "Telegram"
    updated = await receive_until(admin_ws, lambda f: f.get("type") == "dead_letter.updated")
    assert updated[-1]["data"]["state"] == "retry"
    async with sessions() as session:
        row = await session.get(DeadLetter, letter_id)
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "dead_letter.retry"))
    assert row is not None and row.state == "retry" and audit is not None and audit.object_id == letter_id

    async with sessions() as session, session.begin():
        await dead_letters.settle(session, letter_id, None)
    async with admin.get(panel.url("/api/dead-letters")) as r:
        assert (await r.json())["items"] == []
    async with admin.post(panel.url(f"/api/dead-letters/{letter_id}/retry"), headers=csrf) as r:
        assert r.status == 409  # resolved: nothing left to try
    async with admin.get(panel.url("/admin/dead-letters")) as r:
        assert r.status == 200 and "Необработанные обновления" in await r.text()
    await admin_ws.close()
    await operator_ws.close()


async def test_openapi_lists_the_dead_letter_routes_and_models(panel: Panel) -> None:
    async with panel.client().get(panel.url("/api/openapi.json")) as r:
        doc = await r.json()
    listing = doc["paths"]["/api/dead-letters"]["get"]
    assert listing["x-access"] == "admin" and [p["name"] for p in listing["parameters"]] == ["limit"]
    retry = doc["paths"]["/api/dead-letters/{id}/retry"]["post"]
    assert retry["x-access"] == "admin" and "404" in retry["responses"]
    assert {"DeadLetterList", "DeadLetterOut", "DeadLetterQuery"} <= set(doc["components"]["schemas"])
