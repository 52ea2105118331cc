"""Time zones by IANA name, as admins and operators type them (stores, queues, accounts)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput
from core.i18n import N_


def check_time_zone(name: str) -> ZoneInfo:
    """The zone named, or a field error on `time_zone` in the caller's language."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(N_("Unknown time zone; use a name such as Europe/Moscow."), field="time_zone",
                           time_zone=name) from None
