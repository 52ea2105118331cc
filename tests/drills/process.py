"""`desk run` as a real process for the drills: its environment, its log, /healthz, signals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.botapi import TelegramServer
from tests.drills.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
DESK = str(ROOT / "desk.py")
ADMIN_EMAIL = "drill-admin@example.com"
ADMIN_PASSWORD = "drill password long enough"


def desk_env(data_dir: Path, database_url: str, telegram: TelegramServer) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_URL", "TELEGRAM_", "WEB_", "DESK_", "IMAP_", "SMTP_", "SECRET_"))}
    env.update(DATABASE_URL=database_url, DESK_DATA_DIR=str(data_dir), WEB_PORT=str(free_port()),
               SECRET_KEY="drill-secret-key-0123456789abcdef", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
               TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_BASE=telegram.base)
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    return env


@dataclass
class DeskProcess:
    """One `desk run`; output to a file, so a chatty process never blocks on a full pipe."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path
    started_at: float

    @classmethod
    def start(cls, workdir: Path, env: dict[str, str], *args: str) -> DeskProcess:
        """`desk run *args` (e.g. "--only", "web")."""
        workdir.mkdir(parents=True, exist_ok=True)
        log_path = workdir / f"desk-{time.monotonic_ns()}.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen([sys.executable, DESK, "run", *args], cwd=ROOT, env=env, stdout=output,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return cls(process, env, log_path, time.monotonic())

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    def url(self, path: str) -> str:
        return self.origin + path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60, width: int = 400, notable: int = 40) -> str:
        """The log's warnings and errors (the first `notable` of them, tracebacks cut to `width`), then its
        last lines: the tail of a busy desk is mostly routine lines, and the cause is often earlier."""
        all_lines = self.log.splitlines()
        flagged = [line for line in all_lines[:-lines] if '"level": "warning"' in line or '"level": "error"' in line]
        head = ["warnings and errors before the tail:", *(line[:width * 3] for line in flagged[:notable]), "tail:"]
        return "\n".join([*(head if flagged else []), *(line[:width] for line in all_lines[-lines:])])

    async def healthz(self) -> tuple[int, dict[str, Any]] | None:
        try:
            async with aiohttp.ClientSession() as http, http.get(
                    self.url("/healthz"), timeout=aiohttp.ClientTimeout(total=5)) as response:
                return response.status, await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def wait_for(self, check: Any, what: str, timeout: float) -> float:
        """Poll `await check()` until it holds; seconds since this call. Fails with the log's tail."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"desk exited with {self.process.returncode} waiting for {what}:\n{self.tail()}")
            if await check():
                return time.monotonic() - started
            await asyncio.sleep(0.05)
        raise AssertionError(f"{what}: not within {timeout} s; last /healthz {await self.healthz()}\n{self.tail()}")

    async def wait_healthy(self, timeout: float = 60.0) -> float:
        async def healthy() -> bool:
            answer = await self.healthz()
            return answer is not None and answer[0] == 200
        return await self.wait_for(healthy, "/healthz 200", timeout)

    async def wait_listener(self, timeout: float) -> float:
        async def listening() -> bool:
            answer = await self.healthz()
            return answer is not None and answer[1].get("components", {}).get("listener") == "ok"
        return await self.wait_for(listening, "components.listener ok", timeout)

    async def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 30.0) -> int:
        self.process.send_signal(sig)
        try:
            return await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"desk still running {timeout} s after {sig.name}:\n{self.tail()}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


async def create_admin(env: dict[str, str]) -> None:
    """`desk admin create`, the password on stdin, as an operator sets one up."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, DESK, "admin", "create", "--email", ADMIN_EMAIL, "--name", "Drill", cwd=ROOT, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(f"{ADMIN_PASSWORD}\n".encode()), 120)
    assert process.returncode == 0, (out + err).decode(errors="replace")


class CpuBurner:
    """A busy loop beside the desk for the whole drill: the desk competes for the CPU."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)
