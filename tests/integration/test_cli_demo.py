"""`desk demo`: the real command fills the test database once (a second run adds nothing), its people
are sandbox users, and a desk with data of its own is refused unless --force, in the user's language."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.demo import cast
from core.models import (
    Article,
    BusinessHours,
    Contact,
    Message,
    Note,
    Operator,
    Order,
    Product,
    Store,
    StoreMember,
    Ticket,
)
from core.security import verify_password
from tests.integration.test_cli import DESK, desk_env
from tests.integration.test_cli_messages import cli_env, run  # noqa: F401

COUNTED = (Article, BusinessHours, Contact, Message, Note, Operator, Order, Product, Store, StoreMember, Ticket)


async def counts(sessions) -> dict[str, int]:
    async with sessions() as session:
        return {model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in COUNTED}


def demo(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, DESK, "demo", *args], cwd=data_dir.parent, capture_output=True,
                          text=True, timeout=120, check=False,
                          env=desk_env(data_dir, DATABASE_URL=database_url, LANG="en_US.UTF-8"))


async def test_demo_twice_leaves_one_copy_and_says_the_password_once(tmp_path: Path, database_url: str,
                                                                      sessions) -> None:
    data_dir = tmp_path / "var"
    first = demo(data_dir, database_url)
    assert (first.returncode, first.stderr) == (0, ""), first.stderr
    made = await counts(sessions)
    assert made == {"Article": 12, "BusinessHours": 2, "Contact": 4, "Message": made["Message"], "Note": 2,
                    "Operator": 1, "Order": 3, "Product": 6, "Store": 1, "StoreMember": 1, "Ticket": 4}
    assert made["Message"] >= 14  # customers, bot lines and operator replies
    password = re.search(r"operator@demo\.example, password: (\S+) \(shown only this once\)", first.stdout)
    assert password, first.stdout
    assert "The demo desk is ready: 12 knowledge-base articles" in first.stdout
    async with sessions() as session:
        operator = await session.scalar(select(Operator))
        assert operator is not None and verify_password(operator.password_hash, password[1])
        statuses = sorted(await session.scalars(select(Ticket.status)))
        assert statuses == ["closed", "in_progress", "open", "waiting_customer"]
        assert sorted(await session.scalars(select(Order.status))) == ["pending", "preparing", "ready"]
        assert await session.scalar(select(func.count()).select_from(Product).where(Product.photo_key.is_(None))) == 0
        member = await session.scalar(select(StoreMember))
        assert member is not None and member.telegram_user_id == cast.PARTNER_ID
    saved = json.loads((data_dir / "sandbox.json").read_text())
    assert {user["id"] for user in saved["users"]} == {int(i) for i in cast.external_ids()}

    async with sessions() as session, session.begin():  # an admin edits a demo article: a rerun keeps the edit
        article = await session.scalar(select(Article).where(Article.slug == "demo-delivery-en"))
        assert article is not None
        article.body = "Edited by the shop."

    again = demo(data_dir, database_url)
    assert (again.returncode, again.stderr) == (0, ""), again.stderr
    assert await counts(sessions) == made
    assert "password:" not in again.stdout and "its password is unchanged" in again.stdout
    assert len(json.loads((data_dir / "sandbox.json").read_text())["users"]) == len(saved["users"])
    async with sessions() as session:
        assert await session.scalar(select(Article.body).where(Article.slug == "demo-delivery-en")) == (
            "Edited by the shop.")


async def test_a_desk_with_its_own_data_is_refused_unless_forced(cli_env: pytest.MonkeyPatch,  # noqa: F811
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  database_url: str, sessions) -> None:
    async with sessions() as session, session.begin():
        session.add(Contact(name="A real customer"))
    cli_env.setenv("DATABASE_URL", database_url)
    cli_env.setenv("LANG", "ru_RU.UTF-8")
    code, out, err = await asyncio.to_thread(run, capsys, "demo")  # desk.main runs its own loop
    assert (code, out) == (1, "")
    assert err == ("desk: В этой базе уже есть свои данные (обращений: 0, контактов: 1, статей: 0); демо заполняет "
                   "только пустую. Запустите с --force, чтобы добавить демо рядом с ними.\n")
    assert (await counts(sessions))["Article"] == 0
    code, out, err = await asyncio.to_thread(run, capsys, "demo", "--force")
    assert (code, err) == (0, ""), err
    assert out.startswith("Демо готово: статей в базе знаний — 12 (en, ru)")
    assert "пароль:" in out
    assert (await counts(sessions))["Contact"] == 5
    cli_env.setenv("TELEGRAM_BOT_TOKEN", "123:abc")  # a real bot: the demo's sandbox people cannot be reached
    code, out, err = await asyncio.to_thread(run, capsys, "demo", "--force")
    assert code == 0 and "прошлым запуском" in out
    assert err.startswith("Бот этого стола работает с настоящим Telegram (задан TELEGRAM_BOT_TOKEN)"), err
    assert (await counts(sessions))["Contact"] == 5
