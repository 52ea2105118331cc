"""What the Telegram channel (a private chat with the bot) can do, as core's channel registry sees it.
No aiogram here: a web-only process builds the registry too."""

from __future__ import annotations

from core.channels import ChannelSpec, FileLimits, RateLimit
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
    )
