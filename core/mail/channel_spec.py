"""What the e-mail channel can do, as core's channel registry sees it (core/mail is the e-mail adapter)."""

from __future__ import annotations

from typing import Any

from core.channels import ChannelSpec, FileLimits, Notice
from core.settings import Settings

NAME = "email"


def email_spec(settings: Settings) -> ChannelSpec:
    return ChannelSpec(
        name=NAME,
        label="E-mail",
        replies=True,  # In-Reply-To / References keep one thread per ticket
        files=FileLimits(max_bytes=settings.mail_max_bytes, kinds=frozenset({"document"})),
        customer_notices=True,
        notice_format=notice_format,
    )


def notice_format(external_id: str, notice: Notice) -> tuple[dict[str, Any], str]:
    """A notice as the `text` kind sends it: a plain mail to the address."""
    return {"to": external_id, "subject": notice.subject, "text": notice.text}, f"mail:{external_id}"
