"""`desk run` on a fresh machine without a bot token: the built-in Telegram sandbox is on. /healthz says
so, and a sandbox user who sends /start over the sandbox's HTTP API gets the real bot's greeting (long
polling against the desk's own Bot API), live on the sandbox's WebSocket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from tests.drills.operator import Operator
from tests.drills.process import DeskProcess, create_admin, desk_env


async def test_desk_without_a_token_runs_the_bot_against_its_own_sandbox(
        drill_db: str, tmp_path: Path, telegram: object) -> None:
    env = desk_env(tmp_path / "data", drill_db, telegram)  # type: ignore[arg-type]
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE"):
        env.pop(name)
    desk = DeskProcess.start(tmp_path / "run", env)
    try:
        await desk.wait_healthy(90)

        async def sandbox_bot() -> bool:
            answer = await desk.healthz()
            return answer is not None and answer[1]["components"].get("bot") == "sandbox"

        await desk.wait_for(sandbox_bot, 'components.bot "sandbox"', 30)
        assert "Telegram sandbox is on" in desk.log and "TELEGRAM_BOT_TOKEN is not set" in desk.log
        await create_admin(env)
        staff = Operator(desk)
        try:
            await staff.login()
            http, headers = staff.http, {"X-CSRF-Token": staff.csrf, "Origin": desk.origin}
            async with http.get(desk.url("/sandbox")) as page:
                assert page.status == 200
                assert "Sandbox — no real Telegram" in await page.text()
            async with http.ws_connect(desk.url("/sandbox/ws"), headers={"Origin": desk.origin}) as ws:
                assert json.loads((await ws.receive(timeout=5)).data)["type"] == "hello"
                async with http.post(desk.url("/api/sandbox/users"), headers=headers,
                                     json={"first_name": "Ann", "language": "en"}) as created:
                    assert created.status == 201, await created.text()
                    user = await created.json()
                async with http.post(desk.url(f"/api/sandbox/users/{user['id']}/messages"), headers=headers,
                                     json={"text": "/start"}) as sent:
                    assert sent.status == 201, await sent.text()
                greeting = await _bot_message(ws, user["id"])
                assert greeting["from"]["is_bot"] and greeting["text"]
            async with http.get(desk.url(f"/api/sandbox/users/{user['id']}/chat")) as chat:
                messages = (await chat.json())["messages"]
            assert [m["text"] for m in messages][:2] == ["/start", greeting["text"]]
            with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
                await http.ws_connect(desk.url("/sandbox/ws"), headers={"Origin": "https://evil.example"})
            assert foreign.value.status == 403
            async with aiohttp.ClientSession() as anonymous, anonymous.get(desk.url("/api/sandbox/users")) as nobody:
                assert nobody.status == 401
        finally:
            await staff.close()
        assert await desk.stop() == 0
    finally:
        desk.kill()


async def _bot_message(ws: aiohttp.ClientWebSocketResponse, chat_id: int, timeout: float = 30.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            event = json.loads((await ws.receive()).data)
            if event["type"] == "message" and event["chat_id"] == chat_id and event["message"]["from"]["is_bot"]:
                return event["message"]
