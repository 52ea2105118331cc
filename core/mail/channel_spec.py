"""What the e-mail channel can do, as core's channel registry sees it (core/mail is the e-mail adapter)."""

from __future__ import annotations

from core.channels import ChannelSpec, FileLimits
from core.settings import Settings

NAME = "email"


def email_spec(settings: Settings) -> ChannelSpec:
    return ChannelSpec(
        name=NAME,
        label="E-mail",
        replies=True,  # In-Reply-To / References keep one thread per ticket
        files=FileLimits(max_bytes=settings.mail_max_bytes, kinds=frozenset({"document"})),
        customer_notices=True,
    )
