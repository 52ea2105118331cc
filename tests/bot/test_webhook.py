"""Webhook mode: the secret is checked, 200 only after commit, redeliveries are stored once, and a
process killed between receiving and answering loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.contacts import contact_for_telegram
from core.models import Attachment, Contact, Message, ProcessedUpdate, Ticket
from core.services.contacts import TelegramProfile
from core.services.conversations import open_ticket
from core.services.tickets import change_status
from tests.bot.flows import hand_off, ticket_messages
from tests.botapi import TelegramServer
from tests.botapi.running import WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parents[2]


async def count(sessions, model) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def test_wrong_or_missing_secret_gets_401_and_changes_nothing(telegram: TelegramServer, desk_bot,
                                                                    sessions) -> None:
    running = await desk_bot(mode="webhook")
    update = {"update_id": 9001, "message": {"message_id": 1, "date": 0, "text": "hi",
                                             "chat": {"id": 5, "type": "private", "first_name": "X"},
                                             "from": {"id": 5, "is_bot": False, "first_name": "X"}}}
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(running.webhook_url, json=update, headers=headers) as response:
                assert response.status == 401
    assert await count(sessions, ProcessedUpdate) == 0
    assert await count(sessions, Contact) == 0
    # and through the server: the right secret gets 200 after the commit
    anna = telegram.user("Anna")
    await telegram.send(anna, "/start")
    update_id = telegram.updates[-1]["update_id"]
    attempts = await telegram.webhook_attempts_for(update_id)
    assert attempts[0].status == 200
    assert await count(sessions, ProcessedUpdate) == 1


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_the_same_update_delivered_twice_is_stored_once(telegram: TelegramServer, desk_bot, sessions,
                                                              language: str) -> None:
    await desk_bot(mode="webhook")
    anna = telegram.user("Anna", language_code=language)
    ticket_id = await hand_off(telegram, anna, "/human", language)
    message = telegram._user_message(anna, "this arrives twice")
    update_id = await telegram.push_update({"message": message})
    await telegram.wait_confirmed(update_id)
    await telegram.push_update({"message": message}, update_id=update_id)
    await telegram.wait_confirmed(update_id)
    attempts = [a.status for a in telegram.webhook_attempts if a.update_id == update_id]
    assert attempts == [200, 200]
    bodies = [m.body for m in await ticket_messages(sessions, ticket_id)]
    assert bodies.count("this arrives twice") == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
async def test_process_killed_between_receiving_and_answering_loses_nothing(
        telegram: TelegramServer, desk_bot, sessions, database_url: str, tmp_path: Path) -> None:
    anna = telegram.user("Anna", language_code="en")
    async with sessions() as session, session.begin():
        contact = await contact_for_telegram(session, TelegramProfile(anna.id, "Anna", language_code="en"))
        ticket, _ = await open_ticket(session, contact=contact, channel="telegram", queue_slug="general",
                                      subject="earlier")
        await change_status(session, ticket.id, "closed", actor_kind="customer", actor_id=contact.id)
        ticket_id = ticket.id
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DESK_DATA_DIR": str(tmp_path / "killed"),
           "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_BASE": telegram.base,
           "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}", "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "WEB_PORT": str(port), "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "desk.py", "run", "--only", "bot", "--no-migrate"], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await telegram.wait_for_call("setWebhook", timeout=30)
        telegram.delay("sendMessage", 60, match=lambda p: p.get("chat_id") == anna.id)  # the answer hangs
        await telegram.send(anna, "hello again, it broke once more")
        update_id = telegram.updates[-1]["update_id"]
        await telegram.wait_until(lambda: any(c.method == "sendMessage" and c.status == 0 for c in telegram.calls),
                                  timeout=10)
        process.send_signal(signal.SIGKILL)  # between receiving and answering
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert await count(sessions, ProcessedUpdate) == 0
    assert all(m.body != "hello again, it broke once more" for m in await ticket_messages(sessions, ticket_id))
    attempts = [a for a in telegram.webhook_attempts if a.update_id == update_id]
    assert attempts and attempts[0].status is None  # the connection died without an answer

    await desk_bot(mode="webhook")  # the restarted process
    await telegram.wait_confirmed(update_id, timeout=10)
    answer = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == anna.id and "open again" in c.text)
    assert f"#{ticket_id}" in answer.text
    bodies = [m.body for m in await ticket_messages(sessions, ticket_id)]
    assert bodies.count("hello again, it broke once more") == 1
    async with sessions() as session:
        assert (await session.get(Ticket, ticket_id)).status == "open"
        assert await session.scalar(select(func.count()).select_from(Message)
                                    .where(Message.author_kind == "customer")) == 1


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_failed_download_leaves_the_update_unconfirmed_until_it_is_stored(
        telegram: TelegramServer, desk_bot, sessions, mode: str) -> None:
    running = await desk_bot(mode=mode)
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    telegram.fail("getFile", 500)  # Telegram hiccups while we fetch the photo
    await telegram.send_photo(anna, b"\xff\xd8photo", caption="the damage")
    update_id = telegram.updates[-1]["update_id"]
    await telegram.wait_confirmed(update_id, timeout=10)
    statuses = [c.status for c in telegram.calls if c.method == "getFile"]
    assert statuses[:2] == [500, 200]
    photos = [m for m in await ticket_messages(sessions, ticket_id) if m.kind == "photo"]
    assert len(photos) == 1 and photos[0].body == "the damage"
    if mode == "webhook":  # a transient fault: Telegram is asked to send it again
        assert [a.status for a in telegram.webhook_attempts if a.update_id == update_id] == [503, 200]
    async with sessions() as session:
        kept = await session.scalar(select(Attachment).where(Attachment.message_id == photos[0].id))
    assert kept is not None and await running.desk.storage.read(kept.storage_key or "") == b"\xff\xd8photo"
