"""The channel adapters of this desk, for the composition root (`desk.py`) and the CLI's sessions.
Each adapter declares its own spec; this is the one place that lists them."""

from __future__ import annotations

from bot.channel_spec import telegram_spec
from core.channels import ChannelRegistry
from core.mail.channel_spec import email_spec
from core.settings import Settings
from web.channel_spec import web_spec


def build_channels(settings: Settings) -> ChannelRegistry:
    """Every customer channel's spec; core asks this registry what a channel can do, never its name."""
    return ChannelRegistry([telegram_spec(settings), email_spec(settings), web_spec(settings)])
