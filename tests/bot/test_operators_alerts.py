"""Operators link Telegram with a one-time link and get alerts when nobody has the panel open."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from core.models import Operator
from core.services.presence import touch_presence
from tests.bot.cli import desk_cli
from tests.bot.flows import hand_off
from tests.botapi import TelegramServer


async def link_operator(telegram: TelegramServer, database_url: str, tmp_path: Path, language: str = "en"):  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": database_url, "DESK_DATA_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": telegram.token,
           "TELEGRAM_API_BASE": telegram.base}
    code, out, err = await desk_cli("operator", "link", "--email", "olga@example.com", env=env)
    assert code == 0, err
    link = out.splitlines()[0]
    assert link.startswith("https://t.me/desk_test_bot?start=link_")
    olga = telegram.user("Olga", language_code=language)
    await telegram.send(olga, f"/start {link.split('start=')[1]}")
    return olga


async def test_operator_links_telegram_once(telegram: TelegramServer, desk_bot, sessions, operator,
                                            database_url: str, tmp_path: Path) -> None:
    await desk_bot()
    olga = await link_operator(telegram, database_url, tmp_path)
    done = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == olga.id)
    assert "you will get alerts here" in done.text
    await telegram.settled()
    async with sessions() as session:
        linked = await session.scalar(select(Operator.telegram_user_id).where(Operator.id == operator.id))
    assert linked == olga.id
    mallory = telegram.user("Mallory")
    token_text = next(m for m in telegram.messages.values()
                      if m.get("chat", {}).get("id") == olga.id and str(m.get("text", "")).startswith("/start link_"))
    await telegram.send(mallory, token_text["text"])  # the same link again
    refused = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == mallory.id)
    assert "invalid, used or expired" in refused.text


async def test_nobody_online_alerts_linked_operators(telegram: TelegramServer, desk_bot, sessions, operator,
                                                     database_url: str, tmp_path: Path) -> None:
    await desk_bot()
    async with sessions() as session, session.begin():
        await session.execute(update(Operator).values(language="ru"))  # alerts speak the panel's language
    olga = await link_operator(telegram, database_url, tmp_path, language="en")
    await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == olga.id)
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    await telegram.send(anna, "my <order> is late")
    alert = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == olga.id and "🔔" in c.text)
    assert f"#{ticket_id}" in alert.text and "Панель никто не открыл" in alert.text
    assert "my &lt;order&gt; is late" in alert.text
    await telegram.send(anna, "more details")  # same ticket, within ten minutes: no second alert
    await telegram.settled()
    async with sessions() as session, session.begin():
        await touch_presence(session, operator.id)
    await telegram.send(anna, "still there?")
    await telegram.settled()
    alerts = [c for c in telegram.sent_to(olga.id) if "🔔" in c.text]
    assert len(alerts) == 1
