"""What the Telegram channel (a private chat with the bot) can do, as core's channel registry sees it.
No aiogram here: a web-only process builds the registry too."""

from __future__ import annotations

import html
from typing import Any

from core.channels import ChannelSpec, FileLimits, Notice, RateLimit
from core.settings import Settings

NAME = "telegram"
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API hands a bot no bigger file
FILE_KINDS = frozenset({"photo", "document", "voice", "audio", "video", "video_note", "animation"})


def telegram_spec(settings: Settings) -> ChannelSpec:
    return ChannelSpec(
        name=NAME,
        label="Telegram",
        edits=True,
        replies=True,
        files=FileLimits(max_bytes=DOWNLOAD_LIMIT, kinds=FILE_KINDS),
        buttons=True,
        typing_indicator=True,
        read_receipts=False,  # bots are never told that a message was read
        rate_limit=RateLimit(per_recipient=settings.telegram_rate_per_chat, overall=settings.telegram_rate_global),
        live_conversations=True,
        reopens=True,
        offline_alerts=True,
        rates_on_close=True,
        customer_notices=True,
        takes_orders=True,  # bot/orders runs the order flow from the menu's buttons
        staff_alerts=True,
        notice_format=notice_format,
        typing_format=typing_format,
    )


def notice_format(external_id: str, notice: Notice) -> tuple[dict[str, Any], str]:
    """A notice as the `text` kind sends it: HTML (plain text escaped here), to the chat of the user id."""
    payload: dict[str, Any] = {"chat_id": int(external_id), "text": notice.text} if notice.html else {
        "chat_id": int(external_id), "text": html.escape(notice.text), "parse_mode": "HTML"}
    if notice.buttons:
        payload["buttons"] = notice.buttons
    return payload, f"tg:{external_id}"


def typing_format(external_id: str, action: str) -> tuple[dict[str, Any], str]:
    """A typing hint as the `chat_action` kind sends it, in its own lane per chat."""
    return {"chat_id": int(external_id), "action": action}, f"typing:tg:{external_id}"
