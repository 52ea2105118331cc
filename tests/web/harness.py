"""A running panel for tests: the production app factory on a loopback port, a real listener and
event stream on the test database, a clock the test controls, and helpers to make people and tickets."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar, WSMsgType, web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts import contact_for_telegram
from core.context import Desk
from core.services.contacts import TelegramProfile
from core.services.conversations import Inbound, customer_wrote, open_ticket
from core.services.operators import create_operator
from core.settings import load_settings, sandboxed
from desk import build_desk
from web.app import create_app
from web.config import PanelConfig

PASSWORD = "correct horse battery"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Panel:
    desk: Desk
    app: web.Application
    server: TestServer
    clock: Clock
    tasks: list[asyncio.Task[Any]]
    clients: list[ClientSession] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def client(self) -> ClientSession:
        client = ClientSession(cookie_jar=CookieJar(unsafe=True))
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.server.close()
        for task in self.tasks:
            task.cancel()
        await self.desk.listener.stop()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.desk.engine.dispose()


async def start_panel(database_url: str, data_dir: Path, settings_overrides: dict[str, Any] | None = None,
                      *, port: int = 0, **config: Any) -> Panel:
    """`settings_overrides={"telegram_sandbox": True}` (with `port`, the loopback port to listen on) mounts
    the built-in Telegram sandbox, as `desk run` does without a token."""
    settings = load_settings(**{"database_url": database_url, "desk_data_dir": data_dir, "web_port": port or 8089,
                                **(settings_overrides or {})})
    if settings.telegram_sandbox:
        settings = sandboxed(settings)
    desk = build_desk(settings, database_url)
    clock = Clock()
    panel_config = PanelConfig(clock=clock, **{"ws_heartbeat": 30.0, **config})
    app = create_app(desk, panel_config)
    await desk.stream.start_from_now()
    tasks = [asyncio.ensure_future(desk.listener.run()), asyncio.ensure_future(desk.stream.run())]
    await desk.listener.wait_connected()
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    return Panel(desk, app, server, clock, tasks)


async def make_operator(
    sessions: async_sessionmaker[AsyncSession], email: str, role: str = "operator", language: str = "en"
) -> int:
    async with sessions() as session, session.begin():
        operator = await create_operator(
            session,
            email=email,
            password=PASSWORD,
            role=role,
            language=language,
            display_name=email.split("@")[0].title(),
        )
        return operator.id


async def login(panel: Panel, client: ClientSession, email: str, password: str = PASSWORD) -> str:
    async with client.post(panel.url("/api/auth/login"), json={"email": email, "password": password}) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["csrf_token"]


async def customer_ticket(
    sessions: async_sessionmaker[AsyncSession],
    *,
    user_id: int = 501,
    name: str = "Ann",
    body: str = "Hello, my parcel is late",
    key: str | None = None,
) -> tuple[int, int]:
    """A Telegram customer writes (as the bot would store it): returns (ticket id, message id)."""
    async with sessions() as session, session.begin():
        contact = await contact_for_telegram(
            session, TelegramProfile(user_id=user_id, first_name=name, username=name.lower())
        )
        ticket, _ = await open_ticket(
            session, contact=contact, channel="telegram", queue_slug="general", subject=body[:60]
        )
        message = await customer_wrote(session, ticket, Inbound(body=body, external_key=key or f"tg:{user_id}:{body}"))
        assert message is not None
        return ticket.id, message.id


async def customer_writes(sessions: async_sessionmaker[AsyncSession], ticket_id: int, body: str) -> int:
    from core.models import Ticket

    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        message = await customer_wrote(session, ticket, Inbound(body=body, external_key=f"t{ticket_id}:{body}"))
        assert message is not None
        return message.id


async def receive_until(ws: Any, predicate: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Frames read until one matches; all of them returned (the last is the match)."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.receive_json()
            frames.append(frame)
            if predicate(frame):
                return frames


async def drain(ws: Any, seconds: float = 0.3) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while (message := await ws.receive()).type == WSMsgType.TEXT:
                frames.append(json.loads(message.data))
    return frames


async def eventually(check: Any, timeout: float = 5.0) -> None:
    """Wait until an async check passes (work the server does after a socket closes)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


@dataclass
class WebsiteShop:
    """A store with one product and its website API token."""

    store_id: int
    product_id: int
    token: str


async def website_shop(sessions: async_sessionmaker[AsyncSession], name: str, product: str = "Cola",
                       price_minor: int = 100) -> WebsiteShop:
    from core.orders import stores

    async with sessions() as session, session.begin():
        store = await stores.create_store(session, name=name)
        item = await stores.add_product(session, store_id=store.id, name=product, price_minor=price_minor)
        return WebsiteShop(store.id, item.id, await stores.issue_api_token(session, store.id))


async def website_order(panel: Panel, token: str, product_id: int, key: str, *, kind: str = "pickup",
                        **fields: Any) -> dict[str, Any]:
    """A shop's website posts an order (2 of the product) with its token; the created order."""
    body = {"kind": kind, "items": [{"product_id": product_id, "quantity": 2}], "customer_name": "Maria",
            "customer_phone": "+7 911 000-11-22", "language": "en", **fields}
    async with panel.client().post(panel.url("/api/orders"), json=body,
                                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}) as r:
        assert r.status == 201, await r.text()
        return dict(await r.json())
