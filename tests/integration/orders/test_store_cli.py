"""`desk store ...` through the real command line against the test database."""

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.orders import staff, stores
from core.services.contacts import TelegramProfile

ROOT = Path(__file__).resolve().parents[3]


def desk(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DESK_DATA_DIR": str(tmp_path),
           "TELEGRAM_BOT_USERNAME": "DeskTestBot", "TELEGRAM_BOT_TOKEN": ""}
    return subprocess.run([sys.executable, "desk.py", "store", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


async def test_create_store_add_product_issue_token_and_invite_link_that_joins(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    created = desk(database_url, tmp_path, "create", "--name", "Cafe CLI")
    assert created.returncode == 0, created.stderr
    store_id = int(re.search(r"store (\d+) created", created.stdout).group(1))  # type: ignore[union-attr]
    product = desk(database_url, tmp_path, "product", "--store", str(store_id), "--name", "Tea", "--price", "150.50")
    assert product.returncode == 0, product.stderr
    token = desk(database_url, tmp_path, "token", "--store", str(store_id)).stdout.strip()
    link = desk(database_url, tmp_path, "invite", "--store", str(store_id)).stdout.strip()
    assert link.startswith("https://t.me/DeskTestBot?start=partner_")
    bad = desk(database_url, tmp_path, "product", "--store", str(store_id), "--name", "X", "--price", "1.234")
    assert bad.returncode == 1 and "price" in bad.stderr

    async with sessions() as session, session.begin():
        found = await stores.store_for_api_token(session, token)
        assert found is not None and found.id == store_id
        assert [(p.name, p.price_minor) for p in await stores.catalogue(session, store_id)] == [("Tea", 15050)]
        invite = link.split("start=" + staff.INVITE_PREFIX, 1)[1]
        store, member = await staff.join_with_invite(session, invite, TelegramProfile(user_id=1234, first_name="Zoe"))
    assert (store.id, member.name) == (store_id, "Zoe")
