"""The `desk` command as a user runs it: real processes, embedded PostgreSQL, signals, exit codes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import pytest

from core.db import asyncpg_dsn
from core.embedded_pg import EmbeddedPostgres
from core.scheduler import LEADER_LOCK
from core.security import verify_password
from tests.pg import PostgresForTests

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
DESK = str(ROOT / "desk.py")
HEALTHY_WITHIN = 20.0

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def desk_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_URL", "TELEGRAM_", "WEB_", "DESK_", "IMAP_", "SMTP_"))}
    env.update(DESK_DATA_DIR=str(data_dir), WEB_PORT=str(free_port()), LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
               TELEGRAM_SANDBOX="0")  # these tests run the desk without a bot (the sandbox has its own)
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    env.update(extra)
    return env


@dataclass
class Desk:
    """A `desk` process; its output goes to files so a chatty process never blocks on a full pipe."""

    process: subprocess.Popen[bytes]
    port: int
    stderr_path: Path

    @classmethod
    def start(cls, workdir: Path, env: dict[str, str], *args: str) -> Desk:
        workdir.mkdir(parents=True, exist_ok=True)
        stderr_path = workdir / f"desk-{time.monotonic_ns()}.log"
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, DESK, "run", *args], cwd=workdir, env=env,
                stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL,
            )
        return cls(process, int(env["WEB_PORT"]), stderr_path)

    @property
    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def healthz(self) -> tuple[int, dict[str, object]] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        except OSError:
            return None

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
            return response.read().decode()

    def wait_healthy(self, timeout: float = HEALTHY_WITHIN) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"desk exited with {self.process.returncode}:\n{self.log}")
            answer = self.healthz()
            if answer is not None and answer[0] == 200:
                return time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(f"/healthz did not answer 200 within {timeout} s:\n{self.log}")

    def stop(self, sig: signal.Signals, timeout: float = 30.0) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def postgres_running_for(pgdata: Path) -> list[int]:
    """Live (not zombie) postgres processes serving this data directory."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.info["name"] != "postgres":
                continue
            if any(str(pgdata) in part for part in proc.info["cmdline"] or []):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def run_desk(data_dir: Path, *args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, DESK, *args], cwd=data_dir.parent, env=desk_env(data_dir, **extra),
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: concurrent pytest runs chmod /tmp/pytest-of-<user> to 0700, which
    # would lock out the unprivileged user the embedded server runs as when tests run as root.
    base = Path(tempfile.mkdtemp(prefix="desk-cli-"))
    path = base / "var"
    yield path
    for pid in postgres_running_for(path / "pg"):  # a failed test must not leave a server behind
        psutil.Process(pid).kill()
    shutil.rmtree(base, ignore_errors=True)


def test_help_lists_the_commands() -> None:
    result = subprocess.run([sys.executable, DESK, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("run", "migrate", "admin"):
        assert command in result.stdout
    run_help = subprocess.run([sys.executable, DESK, "run", "--help"], capture_output=True, text=True, check=False)
    assert "--only" in run_help.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WEB_PORT": "eighty"}, "WEB_PORT"),
        ({"DATABASE_URL": "mysql://u:p@localhost/desk"}, "DATABASE_URL"),
        ({"TELEGRAM_WEBHOOK_URL": "https://desk.example.com"}, "TELEGRAM_WEBHOOK_SECRET"),
    ],
)
def test_bad_setting_exits_2_with_one_line_naming_the_variable(
    data_dir: Path, env: dict[str, str], named: str
) -> None:
    result = run_desk(data_dir, "run", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr
    assert not (data_dir / "pg").exists(), "nothing was started"


def test_mistakes_and_an_unreachable_database_are_one_line_without_traceback_or_log_lines(data_dir: Path) -> None:
    unreachable = {"DATABASE_URL": "postgresql://x@127.0.0.1:1/x"}
    for args, code, says in [
        (("store", "create", "--name", "Shop"), 1, "desk: Cannot reach the database"),
        (("sla", "set", "--priority", "high", "--first-response", ""), 2, "duration must look like 15m"),
        (("store", "invite", "--store", "x"), 2, "argument --store"),
    ]:
        result = run_desk(data_dir, *args, **unreachable)
        assert result.returncode == code, (args, result.stderr)
        assert result.stdout == "" and result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert not (data_dir / "pg").exists(), "with DATABASE_URL nothing is started"


def test_fresh_start_answers_healthz_and_ctrl_c_exits_0_leaving_no_postgres(data_dir: Path) -> None:
    desk = Desk.start(data_dir.parent, desk_env(data_dir))
    try:
        took = desk.wait_healthy()
        log.info("fresh desk healthy", extra={"seconds": round(took, 2)})
        status, body = desk.healthz() or (0, {})
        assert status == 200
        components = body["components"]
        assert isinstance(components, dict)
        assert {key: components.get(key) for key in ("database", "listener", "bot", "web")} == {
            "database": "ok", "listener": "ok", "bot": "off", "web": "ok"}
        pgdata = data_dir / "pg"
        server = postmaster_pid(pgdata)
        assert postgres_running_for(pgdata) == [server]
        assert desk.stop(signal.SIGINT) == 0
    finally:
        desk.kill()
    assert not psutil.pid_exists(server) or psutil.Process(server).status() == psutil.STATUS_ZOMBIE
    assert postgres_running_for(pgdata) == []
    assert "Traceback" not in desk.log
    assert '"bot is off: TELEGRAM_BOT_TOKEN is not set"' in desk.log
    assert desk.log.count("bot is off") == 1


def test_after_sigkill_a_new_start_works_and_sigterm_stops_postgres(data_dir: Path) -> None:
    pgdata = data_dir / "pg"
    first = Desk.start(data_dir.parent, desk_env(data_dir))
    try:
        first.wait_healthy()
        server = postmaster_pid(pgdata)
        first.process.kill()
        first.process.wait(10)
    finally:
        first.kill()
    assert postgres_running_for(pgdata) == [server], "the killed desk left its server running"

    second = Desk.start(data_dir.parent, desk_env(data_dir))
    try:
        second.wait_healthy()
        assert postmaster_pid(pgdata) == server, "the running server was reused"
        assert second.stop(signal.SIGTERM) == 0
    finally:
        second.kill()
    assert postgres_running_for(pgdata) == []
    assert "Traceback" not in second.log


def test_start_recovers_after_both_desk_and_postgres_were_killed(data_dir: Path) -> None:
    pgdata = data_dir / "pg"
    first = Desk.start(data_dir.parent, desk_env(data_dir))
    try:
        first.wait_healthy()
        server = postmaster_pid(pgdata)
        first.process.kill()
        first.process.wait(10)
        psutil.Process(server).kill()
        psutil.wait_procs([psutil.Process(server)], timeout=10)
    finally:
        first.kill()
    assert (pgdata / "postmaster.pid").exists(), "a stale pid file is left behind"

    second = Desk.start(data_dir.parent, desk_env(data_dir))
    try:
        second.wait_healthy(timeout=40)
        assert postmaster_pid(pgdata) != server
        assert second.stop(signal.SIGINT) == 0
    finally:
        second.kill()
    assert postgres_running_for(pgdata) == []


async def admin_hash(pgdata: Path, email: str) -> str:
    """Read the stored hash through the same embedded server (this process becomes one more user)."""
    embedded = EmbeddedPostgres(pgdata)
    url = await embedded.astart()
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            return await conn.fetchval("SELECT password_hash FROM operator WHERE email = $1 AND role = 'admin'",
                                       email)
        finally:
            await conn.close()
    finally:
        await embedded.astop()


async def test_admin_create_reads_the_password_from_stdin_beside_a_running_desk(data_dir: Path) -> None:
    pgdata = data_dir / "pg"
    desk = Desk.start(data_dir.parent, desk_env(data_dir))
    try:
        desk.wait_healthy()
        created = run_desk(data_dir, "admin", "create", "--email", "Boss@Example.com", "--name", "Boss",
                           stdin="correct horse battery staple\n")
        assert created.returncode == 0, created.stderr
        assert "admin boss@example.com created" in created.stdout
        assert "staple" not in created.stdout + created.stderr

        too_short = run_desk(data_dir, "admin", "create", "--email", "x@example.com", stdin="short\n")
        assert too_short.returncode == 1
        assert "password" in too_short.stderr
        assert "Traceback" not in too_short.stderr

        assert (desk.healthz() or (0,))[0] == 200, "the admin command did not stop the running desk's server"
        stored = await admin_hash(pgdata, "boss@example.com")
        log.info("admin hash from the database starts %s", "$".join(stored.split("$")[:4]))  # no salt, no hash
        assert stored.startswith("$argon2id$")
        assert verify_password(stored, "correct horse battery staple")
        assert not verify_password(stored, "wrong")
        assert (desk.healthz() or (0,))[0] == 200, "reading through the embedded server did not stop it"
        assert desk.stop(signal.SIGTERM) == 0
    finally:
        desk.kill()
    assert postgres_running_for(pgdata) == []


async def scheduler_lock_holders(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            LEADER_LOCK,
        )
        return [row["application_name"] for row in rows]
    finally:
        await conn.close()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


async def wait_for(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    import asyncio

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met")


async def test_web_and_worker_processes_share_one_database(pg_server: PostgresForTests, tmp_path: Path) -> None:
    import asyncio

    from core import events, outbox
    from core.db import create_engine, create_session_factory

    url = pg_server.url_for(await pg_server.create_database())  # empty: the processes migrate it
    dsn = asyncpg_dsn(url)
    web = Desk.start(tmp_path / "web", desk_env(tmp_path / "web-data", DATABASE_URL=url), "--only", "web")
    worker = Desk.start(tmp_path / "worker", desk_env(tmp_path / "worker-data", DATABASE_URL=url), "--only", "worker")
    engine = create_engine(url, pool_size=1)
    try:
        await asyncio.to_thread(web.wait_healthy)
        _status, body = web.healthz() or (0, {})
        components = body["components"]
        assert isinstance(components, dict)
        assert {key: components.get(key) for key in ("database", "listener", "web", "bot")} == {
            "database": "ok", "listener": "ok", "web": "ok", "bot": None}, "a web-only process runs no bot"
        assert await wait_for(lambda: scheduler_lock_holders(dsn)) == ["desk-scheduler"], "the worker leads"

        async with create_session_factory(engine)() as session, session.begin():
            events.publish(session, "ticket.created", {"ticket_id": 1})
            await outbox.enqueue(session, channel="telegram", kind="text", payload={}, idempotency_key="k:1",
                                 order_key="tg:1")

        async def web_saw_it() -> bool:
            text = await asyncio.to_thread(web.metrics)
            return metric(text, "desk_events_delivered_total") >= 1 and 'desk_outbox_rows{state="pending"} 1' in text

        await wait_for(web_saw_it, timeout=10)
        assert await asyncio.to_thread(web.stop, signal.SIGTERM) == 0
        assert await asyncio.to_thread(worker.stop, signal.SIGTERM) == 0
        assert await scheduler_lock_holders(dsn) == []
    finally:
        web.kill()
        worker.kill()
        await engine.dispose()
    assert "Traceback" not in web.log + worker.log
    assert not (tmp_path / "web-data" / "pg").exists(), "with DATABASE_URL nothing is started"
