"""Two `desk run` processes on one PostgreSQL, each with its own DESK_DATA_DIR (as on two machines):
`--only bot,worker` and `--only web`. Files live in the database (FILE_STORE's default), so a photo a
customer sends through the bot downloads from the web process byte for byte (whole, by range, and
304 for the ETag it already has; 503 while PostgreSQL is stopped, the rest by range once it is back),
and a product photo uploaded through the web process is what the bot
sends to a customer."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.callbacks import MenuCb
from bot.orders.callbacks import ShopCb
from tests.botapi import TelegramServer
from tests.drills.customers import hand_off
from tests.drills.operator import Operator
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess, create_admin, desk_env
from tests.images import png

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
WAIT = 30.0


@pytest.fixture
async def two_desks(telegram: TelegramServer, drill_db: str, tmp_path: Path
                    ) -> AsyncIterator[Callable[[], tuple[DeskProcess, DeskProcess]]]:
    started: list[DeskProcess] = []

    def start() -> tuple[DeskProcess, DeskProcess]:
        web = DeskProcess.start(tmp_path / "web", desk_env(tmp_path / "web-data", drill_db, telegram), "--only", "web")
        started.append(web)
        bot = DeskProcess.start(tmp_path / "bot", desk_env(tmp_path / "bot-data", drill_db, telegram),
                                "--only", "bot,worker")
        started.append(bot)
        return web, bot

    yield start
    for desk in started:
        desk.kill()


async def attachment_of(dsn: str, ticket_id: int) -> int:
    """The ticket's stored file, once the bot process has kept it."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        for _ in range(int(WAIT * 10)):
            found = await conn.fetchval(
                "SELECT a.id FROM attachment a JOIN message m ON m.id = a.message_id WHERE m.ticket_id = $1 "
                "AND a.storage_key IS NOT NULL ORDER BY a.id DESC LIMIT 1", ticket_id)
            if found is not None:
                return int(found)
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise AssertionError("the photo never became an attachment")


async def test_files_are_shared_between_processes_on_other_machines(
    two_desks: Callable[[], tuple[DeskProcess, DeskProcess]], telegram: TelegramServer, drill_db: str, tmp_path: Path,
    external_pg: ExternalPostgres,
) -> None:
    web, bot = two_desks()
    await web.wait_healthy()
    await create_admin(web.env)
    customer = telegram.user("Photographer")
    ticket_id = await hand_off(telegram, customer, timeout=60)
    photo = b"\xff\xd8" + os.urandom(700 * 1024)  # three 256 KiB chunks
    mark = telegram.mark()
    await telegram.send_photo(customer, photo, caption="the damage")
    await telegram.wait_for_call("getFile", since=mark, timeout=WAIT)
    operator = Operator(web)
    try:
        await operator.login()
        attachment_id = await attachment_of(drill_db, ticket_id)
        url = web.url(f"/api/attachments/{attachment_id}")
        async with operator.http.get(url) as whole:
            assert whole.status == 200 and await whole.read() == photo
            etag = whole.headers["ETag"]
            assert whole.headers["Accept-Ranges"] == "bytes"
        async with operator.http.get(url, headers={"Range": "bytes=262000-262300"}) as part:
            assert part.status == 206 and await part.read() == photo[262000:262301]  # across a chunk edge
            assert part.headers["Content-Range"] == f"bytes 262000-262300/{len(photo)}"
        async with operator.http.get(url, headers={"Range": "bytes=-10"}) as tail:
            assert tail.status == 206 and await tail.read() == photo[-10:]
        async with operator.http.get(url, headers={"If-None-Match": etag}) as cached:
            assert cached.status == 304 and await cached.read() == b""

        await asyncio.to_thread(external_pg.stop)  # the one shared state goes away: 503, never a broken file
        async with operator.http.get(url) as away:
            assert away.status == 503 and "Retry-After" in away.headers
        await asyncio.to_thread(external_pg.start)
        for _ in range(int(WAIT * 10)):
            async with operator.http.get(url, headers={"Range": "bytes=500000-"}) as back:
                if back.status != 503:
                    assert back.status == 206 and await back.read() == photo[500000:]
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("downloads did not come back after PostgreSQL did")
        assert not list((tmp_path / "web-data").rglob("attachments/*/*"))  # nothing on either disk
        assert not list((tmp_path / "bot-data").rglob("attachments/*/*"))

        image = png(64, 64)
        headers = {"X-CSRF-Token": operator.csrf}
        async with operator.http.post(web.url("/api/stores"), json={"name": "Pizza Roma"}, headers=headers) as made:
            store_id = (await made.json())["id"]
        async with operator.http.post(web.url(f"/api/stores/{store_id}/products"),
                                      json={"name": "Cola", "price_minor": 12050}, headers=headers) as made:
            product_id = (await made.json())["id"]
        form = aiohttp.FormData()
        form.add_field("photo", image, filename="cola.png", content_type="image/png")
        async with operator.http.put(web.url(f"/api/stores/{store_id}/products/{product_id}/photo"),
                                     data=form, headers=headers) as put:
            assert put.status == 200, await put.text()
        shopper = telegram.user("Shopper")
        await telegram.send(shopper, "/start")
        menu = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == shopper.id, timeout=WAIT)
        await telegram.press(shopper, menu, MenuCb(action="order").pack())
        stores = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == shopper.id and c.buttons
                                              and c.buttons[0]["text"] == "Pizza Roma", timeout=WAIT)
        await telegram.press(shopper, stores, stores.button("Pizza Roma")["callback_data"])
        await telegram.wait_for_call("editMessageText", lambda c: c.chat_id == shopper.id and "Tap a product" in c.text,
                                     timeout=WAIT)
        await telegram.press(shopper, stores, ShopCb(action="photo", value=product_id).pack())
        sent = await telegram.wait_for_call("sendPhoto", lambda c: c.chat_id == shopper.id, timeout=WAIT)
        assert sent.files["photo"].data == image  # the bot process read what the web process stored
        assert await bot.stop() == 0 and await web.stop() == 0
    finally:
        await operator.close()
