"""The /ws protocol with real sockets: hello, resume after K, live events per principal, presence,
typing, and refusals (foreign Origin, no session, revoked session)."""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy import select

from core.models import OutboxItem
from core.services.presence import operators_online
from tests.web.harness import (
    Panel,
    customer_ticket,
    customer_writes,
    drain,
    eventually,
    login,
    make_operator,
    receive_until,
)
from tests.web.test_ticket_api import signed_in
from web.keys import HUB, PANEL
from web.ws import keeper


async def connect(panel: Panel, client: aiohttp.ClientSession, after: int | None = None):
    ws = await client.ws_connect(panel.url("/ws"), headers={"Origin": panel.origin})
    hello = await ws.receive_json()
    assert hello["type"] == "hello"
    if after is not None:
        await ws.send_json({"type": "resume", "after": after})
    return ws, hello


def messages(frames: list[dict]) -> list[str]:
    return [f["data"]["body"] for f in frames if f.get("type") == "message.created"]


async def test_two_operators_each_get_a_customer_message_once(panel: Panel, sessions) -> None:
    first, _ = await signed_in(panel, sessions, "a@example.com")
    second, _ = await signed_in(panel, sessions, "b@example.com", role="admin")
    ws1, hello1 = await connect(panel, first, after=None)
    ws2, _ = await connect(panel, second, after=hello1["last_event_id"])
    ticket_id, _ = await customer_ticket(sessions, body="where is my order?")
    for ws in (ws1, ws2):
        frames = await receive_until(ws, lambda f: f.get("type") == "message.created")
        frames += await drain(ws)
        assert messages(frames) == ["where is my order?"]
        ids = [f["id"] for f in frames if "id" in f]
        assert ids == sorted(set(ids))
        assert {f["type"] for f in frames if "id" in f} >= {"ticket.created", "message.created", "ticket.updated"}
    await ws1.close()
    await ws2.close()
    assert ticket_id


async def test_resume_after_a_drop_delivers_what_was_missed_exactly_once_then_live(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "a@example.com")
    ticket_id, _ = await customer_ticket(sessions, body="first")
    ws, _ = await connect(panel, client, after=None)
    await drain(ws, 0.5)  # grace passes: live from the hello id
    await customer_writes(sessions, ticket_id, "seen live")
    frames = await receive_until(ws, lambda f: f.get("type") == "message.created")
    last_seen = max(f["id"] for f in frames if "id" in f)
    await ws.close()
    await customer_writes(sessions, ticket_id, "while away 1")
    await customer_writes(sessions, ticket_id, "while away 2")
    ws, _ = await connect(panel, client, after=last_seen)
    frames = await receive_until(
        ws, lambda f: f.get("type") == "message.created" and f["data"]["body"] == "while away 2"
    )
    await customer_writes(sessions, ticket_id, "after reconnect")
    frames += await receive_until(
        ws, lambda f: f.get("type") == "message.created" and f["data"]["body"] == "after reconnect"
    )
    frames += await drain(ws)
    assert messages(frames) == ["while away 1", "while away 2", "after reconnect"]
    ids = [f["id"] for f in frames if "id" in f]
    assert ids == sorted(set(ids)) and min(ids) > last_seen
    await ws.close()


async def test_a_late_resume_is_refused_rather_than_reordering_events(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "a@example.com")
    ws, _ = await connect(panel, client)
    await drain(ws, 0.5)
    await ws.send_json({"type": "resume", "after": 0})
    assert (await ws.receive_json()) == {"type": "error", "error": "resume_too_late"}
    await ws.send_json({"type": "resume", "after": "zero"})
    assert (await ws.receive_json())["error"] == "bad_resume"
    await ws.close()


async def test_foreign_origin_and_missing_session_are_refused(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "a@example.com")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(panel.url("/ws"), headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
        await panel.client().ws_connect(panel.url("/ws"), headers={"Origin": panel.origin})
    assert anonymous.value.status == 401


async def test_a_session_revoked_elsewhere_loses_its_socket(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "a@example.com")
    other = panel.client()
    other_csrf = await login(panel, other, "a@example.com")
    ws, _ = await connect(panel, client, after=0)
    async with other.post(panel.url("/api/auth/logout-all"), headers={"X-CSRF-Token": other_csrf}) as r:
        assert r.status == 200
    await keeper.tick(panel.app[HUB], panel.desk.sessions, panel.app[PANEL])  # what the heartbeat runs
    await drain(ws, 3.0)
    assert ws.closed


async def test_partner_socket_gets_no_staff_events(panel: Panel, sessions) -> None:
    partner, _ = await signed_in(panel, sessions, "shop@example.com", role="partner")
    staff, _ = await signed_in(panel, sessions, "a@example.com")
    pws, hello = await connect(panel, partner, after=0)
    sws, _ = await connect(panel, staff, after=hello["last_event_id"])
    await customer_ticket(sessions, body="private dialog")
    assert messages(await receive_until(sws, lambda f: f.get("type") == "message.created")) == ["private dialog"]
    assert [f for f in await drain(pws, 0.5) if "id" in f] == []
    await pws.close()
    await sws.close()


async def test_presence_viewers_online_and_typing_reaches_the_outbox(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "a@example.com")
    watcher, _ = await signed_in(panel, sessions, "b@example.com")
    ticket_id, _ = await customer_ticket(sessions, user_id=777)
    async with sessions() as session:
        assert await operators_online(session) == []
    wws, hello = await connect(panel, watcher, after=None)
    ws, _ = await connect(panel, client, after=hello["last_event_id"])
    async with sessions() as session:
        assert len(await operators_online(session)) == 2
    await ws.send_json({"type": "view", "ticket_id": ticket_id})
    frames = await receive_until(wws, lambda f: f.get("type") == "presence.viewers")
    assert [v["display_name"] for v in frames[-1]["data"]["viewers"]] == ["A"]
    await ws.send_json({"type": "typing", "ticket_id": ticket_id})
    await ws.send_json({"type": "typing", "ticket_id": ticket_id})  # within the same few seconds: one action
    await ws.send_json({"type": "typing", "ticket_id": ticket_id + 999})
    assert (await receive_until(ws, lambda f: f.get("type") == "error"))[-1]["error"] == "not_found"
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxItem))).all()
    assert [(o.channel, o.kind, o.payload) for o in rows] == [
        ("telegram", "chat_action", {"chat_id": 777, "action": "typing"})
    ]
    await ws.close()
    frames = await receive_until(wws, lambda f: f.get("type") == "presence.viewers")
    assert frames[-1]["data"]["viewers"] == []
    await wws.close()

    async def nobody_online() -> bool:
        async with sessions() as session:
            return await operators_online(session) == []

    await eventually(nobody_online)


async def test_ws_stats_count_open_sockets_by_role(panel: Panel, sessions) -> None:
    admin, _ = await signed_in(panel, sessions, "root@example.com", role="admin")
    operator, _ = await signed_in(panel, sessions, "a@example.com")
    sockets = [
        (await connect(panel, admin))[0],
        (await connect(panel, operator))[0],
        (await connect(panel, operator))[0],
    ]
    async with admin.get(panel.url("/api/ws/stats")) as r:
        stats = await r.json()
    assert stats["sockets"] == {"admin": 1, "operator": 2, "partner": 0} and stats["total"] == 3
    assert {o["display_name"]: o["sockets"] for o in stats["online_operators"]} == {"A": 2, "Root": 1}
    for ws in sockets:
        await ws.close()
    await make_operator(sessions, "x@example.com")


async def test_an_expired_session_cannot_open_a_socket_and_loses_an_open_one(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "a@example.com")
    ws, _ = await connect(panel, client, after=0)
    panel.clock.advance(hours=13)  # past the idle limit
    await keeper.tick(panel.app[HUB], panel.desk.sessions, panel.app[PANEL])
    await drain(ws, 3.0)
    assert ws.closed
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(panel.url("/ws"), headers={"Origin": panel.origin})
    assert refused.value.status == 401
