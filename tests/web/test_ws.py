"""The /ws protocol with real sockets: hello, resume after K, live events per principal, presence,
typing, and refusals (foreign Origin, no session, revoked session)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import aiohttp
import pytest
from sqlalchemy import select
from yarl import URL

from core import events
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
    start_panel,
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
    ws, _ = await connect(panel, client, after=None)  # no resume: live from the hello id at once
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
    """Once a live event went out, a replay would come after newer frames: refused."""
    client, _ = await signed_in(panel, sessions, "a@example.com")
    ws, _ = await connect(panel, client)
    await customer_ticket(sessions, body="live first")
    await receive_until(ws, lambda f: f.get("type") == "message.created")
    await ws.send_json({"type": "resume", "after": 0})
    frames = await receive_until(ws, lambda f: f.get("type") == "error")
    assert frames[-1] == {"type": "error", "error": "resume_too_late"}
    await ws.send_json({"type": "resume", "after": "zero"})
    assert (await receive_until(ws, lambda f: f.get("type") == "error"))[-1]["error"] == "bad_resume"
    await ws.close()


async def test_a_socket_that_sends_no_resume_gets_live_frames_at_once(panel: Panel, sessions) -> None:
    """No grace: the first event after the hello arrives within a second, with nothing sent by the client."""
    client, _ = await signed_in(panel, sessions, "a@example.com")
    ws, hello = await connect(panel, client)
    started = asyncio.get_running_loop().time()
    await customer_ticket(sessions, body="no resume needed")
    frames = await receive_until(ws, lambda f: f.get("type") == "message.created", timeout=1.0)
    assert asyncio.get_running_loop().time() - started < 1.0
    assert messages(frames) == ["no resume needed"]
    assert all(f["id"] > hello["last_event_id"] for f in frames if "id" in f)
    await ws.close()


async def test_resume_frame_and_after_parameter_replay_exactly_then_live(panel: Panel, sessions) -> None:
    client, _ = await signed_in(panel, sessions, "a@example.com")
    async with sessions() as db:
        before = await events.last_event_id(db)
    ticket_id, _ = await customer_ticket(sessions, body="missed 1")
    await customer_writes(sessions, ticket_id, "missed 2")
    async with sessions() as db:
        missed = [e.id for e in await events.events_after(db, before)]

    ws, hello = await connect(panel, client, after=before)  # the `resume` frame, first thing after hello
    assert hello["last_event_id"] <= missed[-1]
    replayed = await receive_until(ws, lambda f: f.get("id") == missed[-1])
    assert [f["id"] for f in replayed if "id" in f] == missed
    await ws.close()

    url = panel.url(f"/ws?after={before}")  # the `after` parameter: replay with no frame sent
    ws = await client.ws_connect(url, headers={"Origin": panel.origin})
    hello = await ws.receive_json()
    assert (hello["type"], hello["last_event_id"]) == ("hello", before)
    replayed = await receive_until(ws, lambda f: f.get("id") == missed[-1])
    assert [f["id"] for f in replayed if "id" in f] == missed
    await customer_writes(sessions, ticket_id, "live after replay")
    frames = await receive_until(ws, lambda f: f.get("type") == "message.created")
    frames += await drain(ws)
    assert messages(frames) == ["live after replay"] and min(f["id"] for f in frames if "id" in f) > missed[-1]
    await ws.send_json({"type": "resume", "after": 0})
    assert (await receive_until(ws, lambda f: f.get("type") == "error"))[-1]["error"] == "resume_too_late"
    await ws.close()

    bad = await client.get(panel.url("/ws?after=-1"), headers={"Origin": panel.origin})
    assert bad.status == 400


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


async def test_admins_hear_when_an_operator_comes_online_and_leaves(panel: Panel, sessions) -> None:
    admin, _ = await signed_in(panel, sessions, "root@example.com", role="admin")
    operator, _ = await signed_in(panel, sessions, "a@example.com")
    aws, hello = await connect(panel, admin, after=0)
    frames = await receive_until(aws, lambda f: f.get("type") == "presence.online")  # the admin's own socket
    admin_id = frames[-1]["data"]["operator_id"]
    first, _ = await connect(panel, operator)
    frames = await receive_until(aws, lambda f: f.get("type") == "presence.online"
                                 and f["data"]["operator_id"] != admin_id)
    operator_id = frames[-1]["data"]["operator_id"]
    assert frames[-1]["data"]["online"] is True
    second, _ = await connect(panel, operator)  # a second page of the same operator: no news
    await first.close()
    assert [f for f in await drain(aws, 0.5) if f.get("type") == "presence.online"] == []
    await second.close()
    frames = await receive_until(aws, lambda f: f.get("type") == "presence.online")
    assert frames[-1]["data"] == {"operator_id": operator_id, "online": False}
    ows, _ = await connect(panel, operator, after=hello["last_event_id"])  # operators do not get these
    assert [f for f in await drain(ows, 0.5) if f.get("type") == "presence.online"] == []
    await ows.close()
    await aws.close()


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


async def stalled_socket(panel: Panel, client: aiohttp.ClientSession) -> socket.socket:
    """A browser that opens /ws, reads the handshake and then nothing (its receive buffer small)."""
    loop = asyncio.get_running_loop()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await loop.sock_connect(raw, (panel.server.host, panel.server.port))
    cookies = client.cookie_jar.filter_cookies(URL(panel.url("/ws")))
    request = (
        f"GET /ws HTTP/1.1\r\nHost: {panel.server.host}:{panel.server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: {panel.origin}\r\n"
        f"Cookie: {'; '.join(f'{k}={m.value}' for k, m in cookies.items())}\r\n\r\n"
    )
    await loop.sock_sendall(raw, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(raw, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return raw


async def publish_burst(sessions, burst: int, count: int, size: int) -> None:
    async with sessions() as session, session.begin():
        for n in range(count):
            events.publish(session, "bench.burst", {"burst": burst, "n": n, "pad": "x" * size})


async def test_a_socket_that_reads_nothing_is_dropped_and_holds_up_no_one(database_url, sessions, tmp_path) -> None:
    panel = await start_panel(database_url, tmp_path, ws_queue_limit=20)
    try:
        hub = panel.app[HUB]
        reader, _ = await signed_in(panel, sessions, "a@example.com")
        staller, _ = await signed_in(panel, sessions, "stuck@example.com")
        ws, _ = await connect(panel, reader)
        raw = await stalled_socket(panel, staller)
        await drain(ws, 0.3)  # both hellos read: both sockets are live
        stuck = max(hub.connections.values(), key=lambda c: c.operator_id)  # the later operator
        assert stuck.transport is not None
        stuck.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        received: list[dict] = []
        for burst in range(40):
            await publish_burst(sessions, burst, 10, 8000)
            received += await receive_until(ws, lambda f, b=burst: f.get("data", {}).get("burst") == b
                                            and f["data"]["n"] == 9)
            if stuck.id not in hub.connections:
                break
        assert stuck.id not in hub.connections and stuck.closing, "the stalled socket was never dropped"
        bursts = [(f["data"]["burst"], f["data"]["n"]) for f in received if f.get("type") == "bench.burst"]
        assert bursts == [(b, n) for b in range(burst + 1) for n in range(10)]
        ids = [f["id"] for f in received if "id" in f]
        assert ids == sorted(set(ids))
        assert len(hub.connections) == 1
        raw.close()
        await ws.close()
    finally:
        await panel.close()
