"""A database outage during a request: the API answers 503 with Retry-After (JSON, translated), a
page answers a 503 page; both recover when the database accepts connections again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core.db import create_engine, create_session_factory
from core.migrate import upgrade
from tests.pg import PostgresForTests
from tests.web.harness import Panel, customer_ticket, login, make_operator, start_panel


@pytest.fixture
async def private_panel(pg_server: PostgresForTests, tmp_path: Path) -> AsyncIterator[tuple[Panel, str]]:
    """A panel on a database of its own, so this test may close it without harming the others."""
    name = await pg_server.create_database()
    url = pg_server.url_for(name)
    await upgrade(url)
    running = await start_panel(url, tmp_path)
    yield running, url
    await running.close()


async def test_reply_during_a_database_outage_is_503_with_retry_after(private_panel, pg_server, channels) -> None:
    panel, url = private_panel
    engine = create_engine(url, pool_size=1)
    sessions = create_session_factory(engine, channels=channels)
    try:
        await make_operator(sessions, "ru@example.com", language="ru")
        ticket_id, _ = await customer_ticket(sessions)
    finally:
        await engine.dispose()
    client = panel.client()
    csrf = {"X-CSRF-Token": await login(panel, client, "ru@example.com")}
    name = str(make_url(url).database)
    await pg_server.lock_out(name, allowed=False)
    try:
        async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "Hello"},
                               headers=csrf) as r:
            assert r.status == 503
            assert int(r.headers["Retry-After"]) > 0
            body = await r.json()
        assert body["error"] == "unavailable"
        assert body["message"] == "The service is briefly unavailable. Try again in a few seconds."  # no session
        async with client.get(panel.url("/api/me"), headers={"Accept-Language": "ru"}) as r:
            assert r.status == 503 and "Retry-After" in r.headers
            assert (await r.json())["message"].startswith("Сервис ненадолго недоступен")
        async with client.get(panel.url("/inbox"), allow_redirects=False) as r:
            assert r.status == 503 and r.content_type == "text/html" and "Retry-After" in r.headers
    finally:
        await pg_server.lock_out(name, allowed=True)
    async with client.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "Hello again"},
                           headers=csrf) as r:
        assert r.status == 201, await r.text()
