"""The stack's floor for bench/bot_inbound.py: the same webhook requests answered with no database.

    python bench/bot_floor.py PORT SECRET DSN

POST /plain reads the JSON body and answers 200 (aiohttp alone); POST /telegram/webhook goes through
aiogram's SimpleRequestHandler and a Dispatcher with one handler that does nothing (aiohttp + aiogram);
POST /batched/telegram/webhook is the cheapest durable design we could think of: the handler hands its
message to a writer that commits all waiting messages together, four multi-row statements in one
transaction (update ids, messages, ticket counters, events), and answers after that commit. No
business rules, no ORM: whatever the desk does per update costs on top of these.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web


async def plain(request: web.Request) -> web.Response:
    await request.json()
    return web.Response(text="ok")


async def nothing(_message: Message) -> None:
    return None


class GroupCommit:
    """Messages waiting for the next commit; one transaction per batch, as many batches in flight as the pool has."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.waiting: list[tuple[Message, asyncio.Future[None]]] = []
        self.wake = asyncio.Event()
        self.commits: set[asyncio.Task[None]] = set()

    async def store(self, message: Message) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((message, done))
        self.wake.set()
        await done

    async def run(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                "DROP TABLE IF EXISTS floor_update, floor_message, floor_ticket, floor_event;"
                "CREATE TABLE floor_update (update_id bigint PRIMARY KEY);"
                "CREATE TABLE floor_message (id bigserial PRIMARY KEY, chat_id bigint, body text,"
                " created_at timestamptz DEFAULT now());"
                "CREATE TABLE floor_ticket (chat_id bigint PRIMARY KEY, messages int NOT NULL DEFAULT 0);"
                "CREATE TABLE floor_event (id bigserial PRIMARY KEY, data jsonb)")
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.waiting = self.waiting, []
            if batch:
                task = asyncio.ensure_future(self._commit(batch))
                self.commits.add(task)
                task.add_done_callback(self.commits.discard)

    async def _commit(self, batch: list[tuple[Message, asyncio.Future[None]]]) -> None:
        ids = [message.message_id for message, _ in batch]
        chats = [message.chat.id for message, _ in batch]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO floor_update SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING", ids)
            await conn.execute("INSERT INTO floor_message (chat_id, body) "
                               "SELECT * FROM unnest($1::bigint[], $2::text[])",
                               chats, [message.text or "" for message, _ in batch])
            await conn.execute("INSERT INTO floor_ticket AS t SELECT unnest($1::bigint[]), 1 ON CONFLICT (chat_id) "
                               "DO UPDATE SET messages = t.messages + 1", sorted(set(chats)))
            await conn.execute("INSERT INTO floor_event (data) "
                               "SELECT jsonb_build_object('message', unnest($1::bigint[]))", ids)
        for _, done in batch:
            done.set_result(None)


def dispatcher_with(handler: object) -> Dispatcher:
    router = Router()
    router.message.register(handler)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


async def create_app(secret: str, dsn: str) -> web.Application:
    bot = Bot("1:floor", session=AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9")))
    writer = GroupCommit(await asyncpg.create_pool(dsn, min_size=8, max_size=8))
    app = web.Application()
    app.router.add_post("/plain", plain)
    for path, handler in (("/telegram/webhook", nothing), ("/batched/telegram/webhook", writer.store)):
        SimpleRequestHandler(dispatcher_with(handler), bot, handle_in_background=False, secret_token=secret).register(
            app, path=path)

    async def start_writer(_app: web.Application) -> None:
        _app["writer"] = asyncio.ensure_future(writer.run())

    app.on_startup.append(start_writer)
    return app


if __name__ == "__main__":
    web.run_app(create_app(sys.argv[2], sys.argv[3]), host="127.0.0.1", port=int(sys.argv[1]), print=None,
                access_log=None)
