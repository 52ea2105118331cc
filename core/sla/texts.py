"""Rendering SLA texts in a reader's language: durations and alert lines."""

from __future__ import annotations

import html
import math

from core.i18n import Translator

TARGET_NAMES = ("first_response", "resolution")


def duration(translator: Translator, language: str, seconds: float) -> str:
    """'32 min', '2 h 5 min', '3 d 4 h' (rounded up to the minute)."""
    minutes = max(math.ceil(seconds / 60), 0)
    if minutes < 60:
        return translator.gettext(language, "{minutes} min", minutes=minutes)
    hours, rest = divmod(minutes, 60)
    if hours >= 48:
        days, hours = divmod(hours, 24)
        return translator.gettext(language, "{days} d {hours} h", days=days, hours=hours)
    if rest == 0:
        return translator.gettext(language, "{hours} h", hours=hours)
    return translator.gettext(language, "{hours} h {minutes} min", hours=hours, minutes=rest)


def alert_line(
    translator: Translator, language: str, *, ticket_id: int, subject: str, target: str, stage: str,
    seconds: float, escape: bool = False,
) -> str:
    """`[Ticket #7 | Site outage] first response due in 32 min` (stage warning) or `... overdue by 5 min`."""
    params = {
        "id": ticket_id,
        "subject": html.escape(subject) if escape else subject,
        "left": duration(translator, language, seconds),
    }
    if stage == "warning":
        if target == "first_response":
            return translator.gettext(language, "[Ticket #{id} | {subject}] first response due in {left}", **params)
        return translator.gettext(language, "[Ticket #{id} | {subject}] resolution due in {left}", **params)
    if target == "first_response":
        return translator.gettext(language, "[Ticket #{id} | {subject}] first response overdue by {left}", **params)
    return translator.gettext(language, "[Ticket #{id} | {subject}] resolution overdue by {left}", **params)
