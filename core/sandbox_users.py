"""The built-in sandbox's saved state, `$DESK_DATA_DIR/sandbox.json`: its Telegram users and id counters.

The web process's sandbox (`web/sandbox/app.py`) reads it at start and writes it on every change; `desk
demo` adds its people here (a partner and customers who are sandbox users), which is why the format
lives in core. Shape: `{"users": [{"id", "first_name", "username", "language_code"}], "next_user": int,
"message_ids": {chat id: next message id}}`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "sandbox.json"
FIRST_USER = 900_000_001  # users made on the /sandbox page count up from here


@dataclass(frozen=True)
class SandboxUser:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None


def state_path(data_dir: Path) -> Path:
    return Path(data_dir) / STATE_FILE


def read_state(path: Path) -> dict[str, Any]:
    """The saved state; empty when there is none or it cannot be read (a warning says so)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("sandbox state unreadable; starting afresh", extra={"path": str(path), "error": str(exc)})
        return {}
    return data if isinstance(data, dict) else {}


def users_of(state: dict[str, Any]) -> list[SandboxUser]:
    users = []
    for raw in state.get("users", []):
        if isinstance(raw, dict) and isinstance(raw.get("id"), int) and raw.get("first_name"):
            users.append(SandboxUser(raw["id"], str(raw["first_name"]), raw.get("username"), raw.get("language_code")))
    return users


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the file atomically (a reader never sees half of it). Raises OSError."""
    tmp = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(state), encoding="utf-8")
    tmp.replace(path)


def state_with(state: dict[str, Any], users: Iterable[SandboxUser]) -> dict[str, Any]:
    """`state` with `users` added where their id is not there yet (an existing user is kept as is)."""
    known = {user.id for user in users_of(state)}
    merged = list(state.get("users", [])) + [asdict(user) for user in users if user.id not in known]
    next_user = max([FIRST_USER, int(state.get("next_user", FIRST_USER)),
                     *(int(raw["id"]) + 1 for raw in merged if int(raw["id"]) >= FIRST_USER)])
    return {**state, "users": merged, "next_user": next_user}


def add_users(path: Path, users: Iterable[SandboxUser]) -> None:
    """Make sure these users exist in the sandbox (idempotent). A running desk's /sandbox page picks
    them up when it lists its users."""
    write_state(path, state_with(read_state(path), users))
