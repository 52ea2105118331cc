"""The /sandbox page's API and socket through real HTTP: staff play Telegram users against the desk's
real bot (polling the sandbox); partners and strangers cannot; writes need CSRF and the same origin;
bad input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.sandbox.harness import SandboxDesk
from tests.web.harness import login, make_operator


async def staff_client(desk: SandboxDesk, sessions: Any, role: str = "operator") -> tuple[aiohttp.ClientSession, dict]:
    email = f"{role}@example.com"
    await make_operator(desk.panel.desk.sessions, email, role=role)
    client = desk.panel.client()
    csrf = await login(desk.panel, client, email)
    return client, {"X-CSRF-Token": csrf, "Origin": desk.panel.origin}


async def next_bot_message(ws: aiohttp.ClientWebSocketResponse, chat_id: int, kind: str = "message") -> dict:
    while True:
        event = json.loads((await ws.receive(timeout=15)).data)
        if event["type"] == kind and event.get("chat_id") == chat_id and event["message"]["from"]["is_bot"]:
            return event["message"]


async def test_staff_create_a_user_ask_for_a_human_press_a_button_and_see_the_bot_live(
        sandbox_desk: SandboxDesk, sessions: Any) -> None:
    panel = sandbox_desk.panel
    client, headers = await staff_client(sandbox_desk, sessions)
    await sandbox_desk.server.wait_until(lambda: any(c.method == "getUpdates" for c in sandbox_desk.server.calls))
    async with client.ws_connect(panel.url("/sandbox/ws"), headers={"Origin": panel.origin}) as ws:
        assert json.loads((await ws.receive(timeout=5)).data) == {"type": "hello"}
        async with client.post(panel.url("/api/sandbox/users"), headers=headers,
                               json={"first_name": "Вера", "language": "ru", "username": "vera_test"}) as r:
            assert r.status == 201, await r.text()
            vera = await r.json()
        async with client.post(panel.url(f"/api/sandbox/users/{vera['id']}/messages"), headers=headers,
                               json={"text": "/human"}) as r:
            assert r.status == 201
        topics = await next_bot_message(ws, vera["id"])
        button = topics["reply_markup"]["inline_keyboard"][0][0]
        async with client.post(panel.url(f"/api/sandbox/users/{vera['id']}/press"), headers=headers,
                               json={"message_id": topics["message_id"], "data": button["callback_data"]}) as r:
            assert r.status == 201, await r.text()
        opened = await next_bot_message(ws, vera["id"])
        assert "#" in opened["text"]
    async with client.get(panel.url(f"/api/sandbox/users/{vera['id']}/chat")) as r:
        chat = await r.json()
    assert chat["user"]["username"] == "vera_test"
    assert [m["message_id"] for m in chat["messages"]] == sorted(m["message_id"] for m in chat["messages"])


@pytest.mark.parametrize(("body", "field"), [
    ({"first_name": ""}, "first_name"),
    ({"first_name": "A", "language": "de"}, "language"),
    ({"first_name": "A", "username": "no spaces"}, "username"),
    ({"first_name": "A", "is_bot": True}, "is_bot"),
])
async def test_bad_user_input_is_422_naming_the_field(sandbox_desk: SandboxDesk, sessions: Any, body: dict,
                                                      field: str) -> None:
    client, headers = await staff_client(sandbox_desk, sessions)
    async with client.post(sandbox_desk.panel.url("/api/sandbox/users"), headers=headers, json=body) as r:
        assert r.status == 422
        assert field in (await r.json())["fields"]
    assert sandbox_desk.server.users == {}


async def test_only_signed_in_staff_with_csrf_and_same_origin(sandbox_desk: SandboxDesk, sessions: Any) -> None:
    panel = sandbox_desk.panel
    anonymous = panel.client()
    async with anonymous.get(panel.url("/sandbox"), allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"].startswith("/login?next=/sandbox")
    async with anonymous.get(panel.url("/api/sandbox/users")) as r:
        assert r.status == 401
    partner, _ = await staff_client(sandbox_desk, sessions, role="partner")
    async with partner.get(panel.url("/api/sandbox/users")) as r:
        assert r.status == 403
    async with partner.get(panel.url("/sandbox"), allow_redirects=False) as r:
        assert r.status == 403
    client, headers = await staff_client(sandbox_desk, sessions)
    async with client.post(panel.url("/api/sandbox/users"), json={"first_name": "A"},
                           headers={"Origin": panel.origin}) as r:
        assert r.status == 403 and (await r.json())["error"] == "csrf"
    async with client.post(panel.url("/api/sandbox/users"), json={"first_name": "A"},
                           headers={**headers, "Origin": "https://evil.example"}) as r:
        assert r.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(panel.url("/sandbox/ws"), headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    async with anonymous.post(panel.url(f"/sandbox/bot{sandbox_desk.server.token}x/getMe")) as r:
        assert r.status == 401, "the Bot API wants the sandbox's token"


async def test_edit_reply_file_contact_location_and_what_cannot_be_done(sandbox_desk: SandboxDesk,
                                                                        sessions: Any) -> None:
    panel, server = sandbox_desk.panel, sandbox_desk.server
    client, headers = await staff_client(sandbox_desk, sessions)
    async with client.post(panel.url("/api/sandbox/users"), headers=headers, json={"first_name": "Ann"}) as r:
        ann = await r.json()
    base = panel.url(f"/api/sandbox/users/{ann['id']}")
    async with client.post(base + "/messages", headers=headers, json={"text": "first"}) as r:
        first = await r.json()
    async with client.post(base + "/messages", headers=headers,
                           json={"text": "second", "reply_to": first["message_id"]}) as r:
        assert (await r.json())["reply_to_message"]["text"] == "first"
    async with client.patch(base + f"/messages/{first['message_id']}", headers=headers, json={"text": "fixed"}) as r:
        assert r.status == 200 and (await r.json())["edit_date"]
    form = aiohttp.FormData()
    form.add_field("file", b"\x89PNG\r\n\x1a\n-image", filename="shot.png", content_type="image/png")
    form.add_field("caption", "look")
    form.add_field("as_photo", "1")
    async with client.post(base + "/files", headers=headers, data=form) as r:
        photo = await r.json()
        assert r.status == 201 and photo["caption"] == "look" and photo["photo"]
    async with client.get(panel.url(f"/api/sandbox/files/{photo['photo'][-1]['file_id']}")) as r:
        assert r.status == 200 and r.content_type == "image/png"
    async with client.post(base + "/contact", headers=headers, json={"phone_number": "+1 555 0100"}) as r:
        assert (await r.json())["contact"]["user_id"] == ann["id"]
    async with client.post(base + "/location", headers=headers, json={"latitude": 91, "longitude": 0}) as r:
        assert r.status == 422
    async with client.post(base + "/messages", headers=headers, json={"text": "x" * 4097}) as r:
        assert r.status == 422
    pressed = {"message_id": first["message_id"], "data": "x"}
    async with client.post(base + "/press", headers=headers, json=pressed) as r:
        assert r.status == 404, "no such button under that message"
    async with client.post(panel.url("/api/sandbox/users/1/messages"), headers=headers, json={"text": "hi"}) as r:
        assert r.status == 404
    assert server.messages[(ann["id"], first["message_id"])]["text"] == "fixed"


async def test_a_partner_invite_link_works_in_the_sandbox_as_in_telegram(sandbox_desk: SandboxDesk,
                                                                        sessions: Any) -> None:
    from urllib.parse import parse_qs, urlsplit

    from core.orders import staff, stores

    panel = sandbox_desk.panel
    async with sessions() as session, session.begin():
        store = await stores.create_store(session, name="Pizza Roma")
        token = await staff.create_invite(session, store.id)
    link = staff.deep_link(panel.desk.settings.telegram_bot_username or "", token)
    assert link.startswith("https://t.me/desk_sandbox_bot?start=")
    client, headers = await staff_client(sandbox_desk, sessions)
    async with client.get(panel.url("/sandbox?start=" + parse_qs(urlsplit(link).query)["start"][0])) as page:
        assert page.status == 200 and staff.start_payload(token) in await page.text(), "the page offers it"
    async with client.ws_connect(panel.url("/sandbox/ws"), headers={"Origin": panel.origin}) as ws:
        async with client.post(panel.url("/api/sandbox/users"), headers=headers, json={"first_name": "Rita"}) as r:
            rita = await r.json()
        async with client.post(panel.url(f"/api/sandbox/users/{rita['id']}/messages"), headers=headers,
                               json={"text": f"/start {staff.start_payload(token)}"}) as r:
            assert r.status == 201
        welcome = await next_bot_message(ws, rita["id"])
    assert "Pizza Roma" in welcome["text"]
