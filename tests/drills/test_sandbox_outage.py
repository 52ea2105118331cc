"""The sandbox's polling bot through a real `desk run` without a token, while PostgreSQL is stopped for
a few seconds beside a CPU burner: messages sandbox customers sent just before and during the outage
(the page's sends that met 503 are sent again after Retry-After, as the page's user would) are each
stored once afterwards, a /start sent into the outage is answered once, no update ends as a dead
letter, and the desk exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.drills.customers import dead_letters, stored_bodies
from tests.drills.operator import Operator
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess, create_admin, desk_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CUSTOMERS = 3
OUTAGE = 5.0


class Sandbox:
    """The /sandbox page's API as a signed-in operator uses it."""

    def __init__(self, desk: DeskProcess, staff: Operator) -> None:
        self.desk, self.staff = desk, staff
        self.refused = 0

    async def call(self, method: str, path: str, body: dict[str, Any], give_up_after: float = 90.0) -> Any:
        """A 503 (the database is away: the sign-in cannot be checked, nothing was sent) is tried again."""
        started = time.monotonic()
        while True:
            async with self.staff.http.request(method, self.desk.url(path), json=body, headers={
                    "X-CSRF-Token": self.staff.csrf, "Origin": self.desk.origin}) as response:
                if response.status != 503 or time.monotonic() - started > give_up_after:
                    assert response.status in (200, 201), (path, response.status, await response.text())
                    return await response.json()
                self.refused += 1
                wait = float(response.headers.get("Retry-After", "1"))
            await asyncio.sleep(min(wait, 2.0))

    async def chat(self, user_id: int) -> list[dict[str, Any]]:
        async with self.staff.http.get(self.desk.url(f"/api/sandbox/users/{user_id}/chat")) as response:
            return (await response.json())["messages"] if response.status == 200 else []

    async def bot_says(self, user_id: int, needle: str, timeout: float = 60.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for message in await self.chat(user_id):
                    if message["from"]["is_bot"] and needle in message.get("text", ""):
                        return message
                await asyncio.sleep(0.2)

    async def hand_off(self, user_id: int) -> None:
        await self.call("POST", f"/api/sandbox/users/{user_id}/messages", {"text": "/human"})
        topics = await self.bot_says(user_id, "What is it about?")
        data = topics["reply_markup"]["inline_keyboard"][-1][0]["callback_data"]
        await self.call("POST", f"/api/sandbox/users/{user_id}/press", {"message_id": topics["message_id"],
                                                                        "data": data})
        await self.bot_says(user_id, "is open")


async def test_sandbox_messages_around_a_database_outage_are_stored_once_and_answered_once(
        drill_db: str, external_pg: ExternalPostgres, cpu_burner: object, tmp_path: Path, telegram: object) -> None:
    env = desk_env(tmp_path / "data", drill_db, telegram)  # type: ignore[arg-type]
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE"):
        env.pop(name)  # no token: the built-in sandbox
    desk = DeskProcess.start(tmp_path / "run", env)
    try:
        await desk.wait_healthy(90)
        await create_admin(env)
        staff = Operator(desk)
        try:
            await staff.login()
            sandbox = Sandbox(desk, staff)
            users = [await sandbox.call("POST", "/api/sandbox/users", {"first_name": f"Cust{i}"})
                     for i in range(CUSTOMERS)]
            newcomer = await sandbox.call("POST", "/api/sandbox/users", {"first_name": "Newcomer"})
            for user in users:
                await sandbox.hand_off(user["id"])

            before = [f"before {u['id']} {n}" for u in users for n in range(3)]
            during = [f"during {u['id']} {n}" for u in users for n in range(3)]
            for body in before:  # accepted by the sandbox; the bot stores them while PostgreSQL goes away
                await sandbox.call("POST", f"/api/sandbox/users/{body.split()[1]}/messages", {"text": body})
            await asyncio.to_thread(external_pg.stop)
            stopped = time.monotonic()
            sends = [sandbox.call("POST", f"/api/sandbox/users/{body.split()[1]}/messages", {"text": body})
                     for body in during]
            sends.append(sandbox.call("POST", f"/api/sandbox/users/{newcomer['id']}/messages", {"text": "/start"}))
            sending = asyncio.gather(*sends)
            await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped)))
            await asyncio.to_thread(external_pg.start)
            back = time.monotonic()
            await asyncio.wait_for(sending, 90)

            async def all_stored() -> bool:
                stored = await stored_bodies(drill_db, "customer")
                return all(body in stored for body in before + during)

            took = await desk.wait_for(all_stored, "every sandbox message stored after the outage", 90)
            greeting = await sandbox.bot_says(newcomer["id"], "Hello")
            await asyncio.sleep(1.0)  # room for a late duplicate
            stored = Counter(await stored_bodies(drill_db, "customer"))
            assert {body: stored[body] for body in before + during} == dict.fromkeys(before + during, 1)
            answers = [m for m in await sandbox.chat(newcomer["id"]) if m["from"]["is_bot"]]
            assert [m["message_id"] for m in answers] == [greeting["message_id"]], "the /start is answered once"
            assert await dead_letters(drill_db) == []
            assert sandbox.refused > 0, "no send met the outage"
            print(f"\nsandbox outage {OUTAGE:.0f} s: {sandbox.refused} sends waited out a 503; every message "
                  f"stored {took:.1f} s after the check began ({time.monotonic() - back:.1f} s after PostgreSQL "
                  f"was back)")
        finally:
            await staff.close()
        assert await desk.stop(signal.SIGTERM) == 0
    finally:
        desk.kill()

