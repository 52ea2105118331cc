from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.harness import SandboxDesk, start_sandbox_desk


@pytest.fixture
async def sandbox_desk(database_url: str, sessions: Any, tmp_path: Path) -> AsyncIterator[SandboxDesk]:
    running = await start_sandbox_desk(database_url, tmp_path)
    yield running
    await running.close()
