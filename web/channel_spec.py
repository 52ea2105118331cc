"""The website chat widget's spec (`ticket.channel = 'web'`); the adapter is `web/widget/`, served
unless WIDGET_ENABLED is false. It claims only what the widget does today: no editing or quoting of
sent messages, no read receipts (the panel hides those controls for its tickets)."""

from __future__ import annotations

from core.channels import ChannelSpec, FileLimits
from core.settings import Settings

NAME = "web"


def web_spec(settings: Settings) -> ChannelSpec:
    return ChannelSpec(
        name=NAME,
        label="Website chat",
        served=settings.widget_enabled,
        files=FileLimits(max_bytes=settings.attachment_max_bytes, kinds=frozenset({"photo", "document"})),
        buttons=True,
        typing_indicator=True,
        live_conversations=True,
        reopens=True,
        offline_alerts=True,
        rates_on_close=True,
        email_copy_after=email_copy_after(settings),
    )


def email_copy_after(settings: Settings) -> float | None:
    """A visitor who left is answered by e-mail too, only where mail goes both ways: SMTP sends the
    copy and IMAP brings their answer back into the chat's ticket."""
    if settings.widget_enabled and settings.mail_out_enabled and settings.mail_in_enabled:
        return settings.widget_email_after_seconds
    return None
