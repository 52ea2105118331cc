"""Inputs the bot cannot handle are kept as dead letters and the intake moves on: a webhook body that is
no usable update is answered 200 (never 503, which would make Telegram hold every later update), a
poison update in long polling is kept after a few tries, an outage of the database is waited out and
never kept, and an admin's "Try again" runs a kept update once more."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import BaseMiddleware
from aiogram.types import Message as AiogramMessage
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.migrate import upgrade
from core.models import DeadLetter
from tests.bot.flows import hand_off, ticket_messages
from tests.botapi import TelegramServer
from tests.botapi.running import WEBHOOK_SECRET, RunningDesk, start_desk_bot
from tests.pg import PostgresForTests
from tests.waiting import eventually
from tests.web.harness import login, make_operator, start_panel
from web import health
from web.keys import DESK

SECRET = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}


async def letters(sessions: async_sessionmaker[AsyncSession]) -> list[DeadLetter]:
    async with sessions() as session:
        return list((await session.scalars(select(DeadLetter).order_by(DeadLetter.id))).all())


async def post_raw(running: RunningDesk, body: bytes, headers: dict[str, str] | None = None,
                   ) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.post(
            running.webhook_url or "", data=body, headers={"Content-Type": "application/json",
                                                           **(SECRET if headers is None else headers)}) as response:
        await response.read()
        return response.status, dict(response.headers)


def nested(depth: int) -> bytes:
    return ('{"update_id": 5, "message": ' + "[" * depth + "]" * depth + "}").encode()


NO_SENDER = {"message_id": 1, "date": 0, "text": "who am I?", "chat": {"id": 5, "type": "private",
                                                                         "first_name": "X"}}
BAD_BODIES: list[tuple[str, bytes, str | None]] = [
    ("garbage JSON", b"{not json at all", None),
    ("empty body", b"", None),
    ("a JSON array", b"[1, 2, 3]", None),
    ("update_id as a string", json.dumps({"update_id": "eleven", "message": NO_SENDER}).encode(), None),
    ("2,000-deep nesting", nested(2000), None),
    ("a message without from", json.dumps({"update_id": 424242, "message": NO_SENDER}).encode(), "424242"),
]


@pytest.mark.parametrize(("body", "external_id"), [(b, e) for _, b, e in BAD_BODIES],
                         ids=[name for name, _, _ in BAD_BODIES])
async def test_an_unusable_webhook_body_is_kept_and_answered_200(
        telegram: TelegramServer, desk_bot: Any, sessions: async_sessionmaker[AsyncSession], body: bytes,
        external_id: str | None) -> None:
    running = await desk_bot(mode="webhook")
    await telegram.wait_for_call("setWebhook")
    assert (await post_raw(running, body, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}))[0] == 401
    assert await letters(sessions) == []
    for _ in range(2):  # Telegram may send it again: one row per update id
        status, _ = await post_raw(running, body)
        assert status == 200
    kept = await letters(sessions)
    if external_id is None:
        assert len(kept) == 2 and all(row.external_id is None for row in kept)
    else:
        assert [(row.external_id, row.attempts, row.state) for row in kept] == [(external_id, 2, "failed")]
    assert all(row.source == "telegram" and row.error and row.payload == body.decode() for row in kept)

    anna = telegram.user("Anna")
    await telegram.send(anna, "/start")  # the next customer is served as usual
    assert await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    await telegram.settled()


@pytest.fixture
async def private_database(pg_server: PostgresForTests) -> AsyncIterator[str]:
    """A migrated database of this test's own, which the test can make unreachable."""
    name = await pg_server.create_database()
    url = pg_server.url_for(name)
    await upgrade(url)
    yield name


async def test_webhook_answers_503_while_the_database_is_away_and_stores_the_resend_once(
        telegram: TelegramServer, pg_server: PostgresForTests, private_database: str, tmp_path: Path) -> None:
    running = await start_desk_bot(telegram, pg_server.url_for(private_database), tmp_path, mode="webhook")
    try:
        anna = telegram.user("Anna")
        ticket_id = await hand_off(telegram, anna, "/human")

        await pg_server.lock_out(private_database, allowed=False)
        await telegram.send(anna, "my parcel is late")
        update = telegram.updates[0]
        attempts = await telegram.webhook_attempts_for(update["update_id"], count=2, timeout=15)
        assert {a.status for a in attempts} == {503}
        status, headers = await post_raw(running, json.dumps(update).encode())  # what Telegram is told
        assert status == 503 and int(headers["Retry-After"]) > 0

        await pg_server.lock_out(private_database, allowed=True)
        await telegram.wait_confirmed(update["update_id"], timeout=20)
        assert [m.body for m in await ticket_messages(running.sessions, ticket_id)].count("my parcel is late") == 1
        assert await letters(running.sessions) == []
    finally:
        await pg_server.lock_out(private_database, allowed=True)
        await running.stop()


async def test_a_poison_update_in_polling_is_kept_after_five_tries_and_the_next_customer_is_served(
        telegram: TelegramServer, desk_bot: Any, sessions: async_sessionmaker[AsyncSession],
        caplog: pytest.LogCaptureFixture) -> None:
    await desk_bot()
    poison = await telegram.push_update({"message": NO_SENDER})
    await telegram.wait_confirmed(poison, timeout=20)
    fetched = [c for c in telegram.calls_of("getUpdates") if c.result and any(
        u["update_id"] == poison for u in c.result)]
    assert len(fetched) == 5
    [kept] = await letters(sessions)
    assert (kept.external_id, kept.state, kept.attempts) == (str(poison), "failed", 5)
    assert json.loads(kept.payload)["message"] == NO_SENDER  # as Telegram sent it
    assert kept.error.startswith("TypeError: ") and "contact" in kept.error

    anna = telegram.user("Anna")
    await telegram.send(anna, "/start")
    assert await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id)
    await telegram.settled()
    assert not [r for r in caplog.records if "given up" in r.getMessage() or "gave up" in r.getMessage()]


class Breaker(BaseMiddleware):
    """A fault of our own making, for the mechanism's sake: while on, a message with this text fails."""

    def __init__(self, text: str) -> None:
        self.text, self.on = text, True

    async def __call__(self, handler: Any, event: Any, data: dict[str, Any]) -> Any:
        if self.on and isinstance(event, AiogramMessage) and event.text == self.text:
            raise RuntimeError("the handler is broken for this message")
        return await handler(event, data)


async def test_an_admin_asks_to_try_a_dead_letter_again_and_the_bot_runs_it(
        telegram: TelegramServer, desk_bot: Any, sessions: async_sessionmaker[AsyncSession], database_url: str,
        tmp_path: Path) -> None:
    running = await desk_bot()
    breaker = Breaker("it broke again")
    running.runtime.dispatcher.message.outer_middleware(breaker)
    panel = await start_panel(database_url, tmp_path / "panel")
    try:
        await make_operator(sessions, "root@example.com", role="admin")
        await make_operator(sessions, "op@example.com")
        admin, operator = panel.client(), panel.client()
        csrf = {"X-CSRF-Token": await login(panel, admin, "root@example.com")}
        operator_csrf = {"X-CSRF-Token": await login(panel, operator, "op@example.com")}
        anna = telegram.user("Anna")
        ticket_id = await hand_off(telegram, anna, "/human")
        await telegram.send(anna, "it broke again")
        poison = telegram.updates[-1]["update_id"]
        await telegram.wait_confirmed(poison, timeout=20)
        [kept] = await letters(sessions)
        retry_url = panel.url(f"/api/dead-letters/{kept.id}/retry")

        async def state_after(client: Any, headers: dict[str, str], attempts: int) -> DeadLetter:
            async with client.post(retry_url, headers=headers) as r:
                assert r.status == 200, await r.text()
            async def settled() -> bool:
                [row] = await letters(sessions)
                return row.state != "retry" and row.attempts == attempts
            await eventually(settled, timeout=10)
            return (await letters(sessions))[0]

        async with operator.post(retry_url, headers=operator_csrf) as r:
            assert r.status == 403
        still = await state_after(admin, csrf, 6)  # the cause is still there: failed again
        assert still.state == "failed" and "the handler is broken" in still.error and still.resolved_at is None

        breaker.on = False  # the cause is gone
        done = await state_after(admin, csrf, 7)
        assert done.state == "resolved" and done.resolved_at is not None
        bodies = [m.body for m in await ticket_messages(sessions, ticket_id)]
        assert bodies.count("it broke again") == 1
        async with admin.get(panel.url("/api/dead-letters")) as r:
            assert (await r.json())["items"] == []
    finally:
        await panel.close()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_refused_bot_token_shows_as_unauthorized_in_healthz(
        telegram: TelegramServer, desk_bot: Any, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    running = await desk_bot(mode=mode, telegram_bot_token="987654321:not-a-token-telegram-knows",
                             health_grace_seconds=0.5)
    await eventually(lambda: running.desk.components["bot"] == "unauthorized", timeout=2)
    app = web.Application()
    app[DESK] = running.desk
    health.setup_routes(app)
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as http:
        async def reported() -> bool:
            async with http.get(server.make_url("/healthz")) as r:
                report = await r.json()
            return r.status == 503 and report["failing"] == ["bot"] and report["components"]["bot"] == "unauthorized"
        await eventually(reported, timeout=3, interval=0.2)
    assert any(r.levelname == "ERROR" and "refuses the bot token" in r.getMessage() for r in caplog.records)
