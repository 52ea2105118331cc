"""The supervisor restarts a part that raises or returns, with backoff, and /healthz and /metrics say so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient

from core.context import Desk
from core.settings import load_settings
from core.supervisor import Supervisor
from desk import build_desk
from tests.integration.test_health import client_for, samples
from tests.waiting import eventually


class Part:
    """A part that fails `failures` times (raises, or returns when `returns`), then works until cancelled."""

    def __init__(self, board: Any, name: str, failures: int, *, returns: bool = False,
                 reports_state: bool = True) -> None:
        self.board, self.name, self.failures, self.returns = board, name, failures, returns
        self.reports_state = reports_state
        self.starts: list[float] = []

    async def __call__(self) -> None:
        self.starts.append(time.monotonic())
        if len(self.starts) <= self.failures:
            if self.returns:
                return
            raise RuntimeError(f"boom {len(self.starts)}")
        if self.reports_state:
            self.board[self.name] = "ok"
        await asyncio.Event().wait()


@asynccontextmanager
async def supervised_desk(database_url: str, grace: float = 5.0, **backoff: float) -> AsyncIterator[
        tuple[Desk, Supervisor, TestClient]]:
    desk = build_desk(load_settings(_env_file=None, database_url=database_url, health_grace_seconds=grace),
                      database_url)
    supervisor = Supervisor(desk.components, **backoff)
    try:
        async with client_for(desk) as client:
            yield desk, supervisor, client
    finally:
        await supervisor.stop()


async def healthz(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz")
    return response.status, await response.json()


async def test_a_part_that_raises_is_restarted_with_backoff_and_healthz_shows_down_then_ok(
    database_url: str
) -> None:
    async with supervised_desk(database_url, min_backoff=0.2, max_backoff=2.0) as (desk, supervisor, client):
        part = Part(desk.components, "flaky", failures=2)
        supervisor.start("flaky", part)
        await eventually(lambda: len(part.starts) == 1 and desk.components["flaky"] == "down")
        status, body = await healthz(client)
        assert status == 200, "within the grace a failing part does not fail the process"
        assert body["components"]["flaky"] == "down" and body["failing"] == []
        assert body["details"]["flaky"]["error"] == "RuntimeError: boom 1"
        assert body["details"]["flaky"]["restarts"] == 1

        await eventually(lambda: desk.components["flaky"] == "ok", timeout=5)
        status, body = await healthz(client)
        assert status == 200 and body["components"]["flaky"] == "ok"
        assert body["details"]["flaky"]["restarts"] == 2 and body["details"]["flaky"]["error"] is None
        first, second = (b - a for a, b in zip(part.starts, part.starts[1:], strict=False))
        assert 0.2 <= first < 0.4 <= second, "the backoff doubles (0.2 s, then 0.4 s, up to 25% jitter each)"

        found = samples(await (await client.get("/metrics")).text())
        assert found[("desk_component_restarts_total", (("component", "flaky"),))] == 2
        assert found[("desk_component_up", (("component", "flaky"), ("state", "ok")))] == 1


async def test_a_part_that_returns_unexpectedly_is_restarted(database_url: str) -> None:
    async with supervised_desk(database_url, min_backoff=0.05) as (desk, supervisor, client):
        part = Part(desk.components, "quitter", failures=1, returns=True, reports_state=False)
        supervisor.start("quitter", part, reports_state=False)
        await eventually(lambda: len(part.starts) == 2)
        assert supervisor.running("quitter")
        _status, body = await healthz(client)
        assert body["details"]["quitter"] == {**body["details"]["quitter"], "state": "ok", "restarts": 1}
        assert desk.components.detail("quitter").restarts == 1


async def test_after_close_nothing_is_restarted(database_url: str) -> None:
    starts = {"raising": 0, "returning": 0}
    release = asyncio.Event()

    async def raising() -> None:
        starts["raising"] += 1
        await release.wait()
        raise RuntimeError("failed while stopping")

    async def returning() -> None:
        starts["returning"] += 1
        await release.wait()

    async with supervised_desk(database_url, min_backoff=0.05) as (desk, supervisor, _client):
        supervisor.start("raising", raising, reports_state=False)
        supervisor.start("returning", returning, reports_state=False)
        await eventually(lambda: starts == {"raising": 1, "returning": 1})
        supervisor.close()
        release.set()
        await eventually(lambda: not supervisor.running("raising") and not supervisor.running("returning"))
        await asyncio.sleep(0.3)  # several backoffs: a restart would have happened by now
        assert starts == {"raising": 1, "returning": 1}
        assert desk.components.detail("raising").restarts == desk.components.detail("returning").restarts == 0


async def test_healthz_fails_once_a_part_is_down_longer_than_the_grace(database_url: str) -> None:
    async with supervised_desk(database_url, grace=0.6, min_backoff=0.05, max_backoff=0.1) as (
            desk, supervisor, client):
        part = Part(desk.components, "broken", failures=1000)
        supervisor.start("broken", part)
        await eventually(lambda: desk.components["broken"] == "down")
        status, body = await healthz(client)
        assert (status, body["failing"]) == (200, [])
        await eventually(lambda: desk.components.detail("broken").seconds() > 0.6, timeout=3)
        status, body = await healthz(client)
        assert status == 503 and body["status"] == "degraded"
        assert body["failing"] == ["broken"]
        assert body["details"]["broken"]["restarts"] == len(part.starts) > 3
        found = samples(await (await client.get("/metrics")).text())
        assert found[("desk_component_up", (("component", "broken"), ("state", "down")))] == 0
        assert found[("desk_component_restarts_total", (("component", "broken"),))] >= len(part.starts) - 1
