"""Telegram's HTML parse mode, strictly enough to catch what Telegram would refuse with 400."""

from __future__ import annotations

import re
from html.parser import HTMLParser

ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
           "span", "blockquote", "tg-emoji"}


class EntityError(ValueError):
    pass


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED:
            raise EntityError(f"Unsupported start tag \"{tag}\"")
        if tag == "a" and not dict(attrs).get("href"):
            raise EntityError("Can't find end of an entity: href is missing")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise EntityError(f"Unmatched end tag \"{tag}\"")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z-]*(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def plain_text(markup: str) -> str:
    """The visible text of an HTML message, or EntityError as Telegram's 'can't parse entities'."""
    for match in re.finditer("[<&]", markup):
        pattern = _TAG if match.group() == "<" else _ENTITY
        if not pattern.match(markup, match.start()):
            raise EntityError(f"Unexpected '{match.group()}' at byte offset {match.start()}")
    parser = _Parser()
    parser.feed(markup)
    parser.close()
    if parser.stack:
        raise EntityError(f"Can't find end tag corresponding to start tag \"{parser.stack[-1]}\"")
    return "".join(parser.text)
