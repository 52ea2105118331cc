from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def desk_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Runs `python desk.py ARGS` without blocking the loop (the test servers keep answering)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "desk.py", *args, cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()
