"""Telegram objects as the Bot API serialises them (plain dicts), built from small inputs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TgUser:
    """A Telegram account a test plays: a customer, an operator, a partner."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def as_user(self) -> dict[str, Any]:
        return _compact(
            {
                "id": self.id,
                "is_bot": False,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )

    def as_chat(self) -> dict[str, Any]:
        return _compact(
            {
                "id": self.id,
                "type": "private",
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
            }
        )


@dataclass
class TgGroup:
    """A supergroup the bot was added to; a forum has topics (`message_thread_id`). `bot_status` is the
    bot's membership (`administrator`, `member`, `kicked`, `left`), `bot_rights` its admin rights."""

    id: int
    title: str
    is_forum: bool = True
    bot_status: str = "administrator"
    bot_rights: dict[str, bool] = field(default_factory=lambda: {"can_manage_topics": True})
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)  # thread id -> {name, closed, icon_color}

    def as_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "supergroup", "title": self.title}
        if self.is_forum:
            chat["is_forum"] = True
        return chat


def bot_user(bot_id: int, username: str = "desk_test_bot", first_name: str = "Desk Test Bot") -> dict[str, Any]:
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": first_name,
        "username": username,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def now() -> int:
    return int(time.time())


def _compact(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


def photo_sizes(file_id: str, unique_id: str, size: int) -> list[dict[str, Any]]:
    """Telegram sends several sizes of one photo; the last is the largest."""
    return [
        {"file_id": f"{file_id}_s", "file_unique_id": f"{unique_id}_s", "width": 90, "height": 90,
         "file_size": max(1, size // 10)},
        {"file_id": file_id, "file_unique_id": unique_id, "width": 1280, "height": 960, "file_size": size},
    ]


def compact(value: dict[str, Any]) -> dict[str, Any]:
    return _compact(value)
