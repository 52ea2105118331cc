"""The deployment examples in deploy/ are what the tools accept: systemd's own checker passes the units
(the desk's path replaced by a real executable) and nginx accepts the reverse-proxy config
(certificates replaced by a throwaway self-signed pair). Skipped, with the reason, without the tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DESK_BINARY = "/opt/desk/.venv/bin/desk"
CERT = "/etc/letsencrypt/live/desk.example.com/fullchain.pem"
KEY = "/etc/letsencrypt/live/desk.example.com/privkey.pem"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    units = sorted((DEPLOY / "systemd").iterdir())
    assert {unit.name for unit in units} == {"desk-migrate.service", "desk-web.service", "desk-bot.service",
                                             "desk-worker.service", "desk.target"}
    stand_in = tmp_path / "desk"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    for unit in units:
        text = unit.read_text()
        if unit.suffix == ".service":
            assert DESK_BINARY in text and "EnvironmentFile=/etc/desk/desk.env" in text, unit.name
        (tmp_path / unit.name).write_text(text.replace(DESK_BINARY, str(stand_in)))
    done = subprocess.run([analyze, "verify", "--man=no", *(str(tmp_path / unit.name) for unit in units)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if "desk" in line]
    assert (done.returncode, complaints) == (0, []), done.stderr
    roles = {unit.name: unit.read_text() for unit in units}
    for role in ("web", "bot", "worker"):
        assert f"desk run --only {role} --no-migrate" in roles[f"desk-{role}.service"]


def test_nginx_config_is_accepted_by_nginx(tmp_path: Path) -> None:
    nginx, openssl = shutil.which("nginx") or "/usr/sbin/nginx", shutil.which("openssl")
    if not Path(nginx).exists() or openssl is None:
        pytest.skip("nginx or openssl is not installed (Debian: nginx-light, openssl)")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=desk.example.com", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    config = (DEPLOY / "nginx.conf").read_text()
    for needed in ("location = /ws", "location = /widget/ws", "proxy_set_header Upgrade", "X-Forwarded-For",
                   "location = /telegram/webhook", "listen 443 ssl"):
        assert needed in config, needed
    (tmp_path / "desk.conf").write_text(config.replace(CERT, str(tmp_path / "cert.pem"))
                                        .replace(KEY, str(tmp_path / "key.pem")))
    (tmp_path / "main.conf").write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                                        f"events {{}}\nhttp {{ include {tmp_path}/desk.conf; }}\n")
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "main.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "test is successful" in done.stderr, done.stderr
