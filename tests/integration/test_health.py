"""GET /healthz and GET /metrics served by the production app factory against real PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import events, outbox
from core.context import Desk
from core.settings import load_settings
from desk import build_desk
from tests.events import settled_last_id
from tests.waiting import running
from web.app import create_app


def desk_on(url: str) -> Desk:
    return build_desk(load_settings(_env_file=None, database_url=url), url)


@asynccontextmanager
async def client_for(desk: Desk) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(create_app(desk), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await desk.engine.dispose()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts TCP connections and never says a word: a database that does not answer."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_healthz_answers_200_with_component_states(database_url: str) -> None:
    desk = desk_on(database_url)
    desk.components["bot"] = "off"
    async with running(desk.listener.run()), client_for(desk) as client:
        await desk.listener.wait_connected()
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 200
    assert (body["status"], body["failing"]) == ("ok", [])
    assert body["components"] == {"database": "ok", "listener": "ok", "bot": "off"}
    assert set(body["details"]) == {"database", "listener", "bot"}
    assert body["details"]["listener"]["state"] == "ok" and body["details"]["listener"]["restarts"] == 0


async def test_healthz_answers_503_when_the_database_refuses_connections() -> None:
    desk = desk_on(f"postgresql://desk@127.0.0.1:{closed_port()}/desk")
    async with client_for(desk) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 503
    assert body["status"] == "degraded"
    assert body["components"]["database"] == "down"


async def test_healthz_answers_503_within_seconds_when_the_database_hangs() -> None:
    async with silent_server() as port:
        desk = desk_on(f"postgresql://desk@127.0.0.1:{port}/desk")
        async with client_for(desk) as client:
            response = await asyncio.wait_for(client.get("/healthz"), 10)
            assert response.status == 503
            assert (await response.json())["components"]["database"] == "down"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_report_events_outbox_backlog_and_open_websockets(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        for number in range(3):
            events.publish(session, "ticket.created", {"n": number})
        for number in range(2):
            await outbox.enqueue(session, channel="telegram", kind="text", payload={},
                                 idempotency_key=f"m:{number}", order_key="tg:1")
    last_id = await settled_last_id(sessions)
    desk = desk_on(database_url)
    desk.metrics["websockets_open"] = 2  # what the WebSocket hub reports
    async with client_for(desk) as client:
        response = await client.get("/metrics")
        text = await response.text()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(text)
    assert found[("desk_events_published_total", ())] == last_id
    assert found[("desk_outbox_rows", (("state", "pending"),))] == 2
    assert found[("desk_outbox_rows", (("state", "failed"),))] == 0
    assert found[("desk_websockets_open", ())] == 2
    assert found[("desk_database_up", ())] == 1


async def test_metrics_still_answer_when_the_database_is_down() -> None:
    desk = desk_on(f"postgresql://desk@127.0.0.1:{closed_port()}/desk")
    async with client_for(desk) as client:
        response = await client.get("/metrics")
        found = samples(await response.text())
    assert response.status == 200
    assert found[("desk_database_up", ())] == 0
    assert ("desk_outbox_rows", (("state", "pending"),)) not in found
