"""The website chat widget, reserved in the data model (`ticket.channel = 'web'`) and not served yet:
its spec says what it will do, so the panel and the API already show it as such."""

from __future__ import annotations

from core.channels import ChannelSpec, FileLimits
from core.settings import Settings

NAME = "web"


def web_spec(settings: Settings) -> ChannelSpec:
    return ChannelSpec(
        name=NAME,
        label="Website chat",
        served=False,
        edits=True,
        replies=True,
        files=FileLimits(max_bytes=settings.attachment_max_bytes, kinds=frozenset({"photo", "document"})),
        buttons=True,
        typing_indicator=True,
        read_receipts=True,
        live_conversations=True,
        reopens=True,
        offline_alerts=True,
        rates_on_close=True,
    )
