"""The one place that turns text into Telegram HTML: escaping, signing, splitting under the limit."""

from __future__ import annotations

import html

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def attr(value: object) -> str:
    """A value inside a double-quoted HTML attribute (a link's href)."""
    return html.escape(str(value), quote=True)


def signed(body: str, author: str) -> str:
    """An operator reply as the customer sees it: the text, then the operator's name."""
    text = esc(body)
    if not author:
        return text
    return f"{text}\n\n— <i>{esc(author)}</i>" if text else f"— <i>{esc(author)}</i>"


def split_plain(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split escaped text (no tags) at paragraph, line or word boundaries, never inside an entity."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        if cut <= limit // 2:
            cut = limit
            amp = rest.rfind("&", cut - 8, cut)
            if amp != -1 and ";" not in rest[amp:cut]:
                cut = amp
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts
