"""Telegram's HTML parse mode, strictly enough to catch what Telegram would refuse with 400."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
           "span", "blockquote", "tg-emoji"}


class EntityError(ValueError):
    pass


KINDS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
         "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
         "code": "code", "pre": "pre", "a": "text_link", "blockquote": "blockquote"}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.open: list[tuple[str, dict[str, str | None], int]] = []
        self.entities: list[dict[str, Any]] = []
        self.units = 0  # in UTF-16 code units, as Telegram counts entity offsets

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED:
            raise EntityError(f"Unsupported start tag \"{tag}\"")
        if tag == "a" and not dict(attrs).get("href"):
            raise EntityError("Can't find end of an entity: href is missing")
        self.stack.append(tag)
        self.open.append((tag, dict(attrs), self.units))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise EntityError(f"Unmatched end tag \"{tag}\"")
        self.stack.pop()
        name, attrs, start = self.open.pop()
        kind = KINDS.get(name)
        if name == "span" and attrs.get("class") == "tg-spoiler":
            kind = "spoiler"
        if kind is None or self.units == start:
            return
        entity: dict[str, Any] = {"type": kind, "offset": start, "length": self.units - start}
        if kind == "text_link":
            entity["url"] = attrs.get("href")
        if kind == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self.units += len(data.encode("utf-16-le")) // 2


_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z-]*(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def plain_text(markup: str) -> str:
    """The visible text of an HTML message, or EntityError as Telegram's 'can't parse entities'."""
    return parse(markup)[0]


def parse(markup: str) -> tuple[str, list[dict[str, Any]]]:
    """The visible text and its entities (bold, text_link, ...) as Telegram returns them in a Message,
    or EntityError as Telegram's 'can't parse entities'."""
    for match in re.finditer("[<&]", markup):
        pattern = _TAG if match.group() == "<" else _ENTITY
        if not pattern.match(markup, match.start()):
            raise EntityError(f"Unexpected '{match.group()}' at byte offset {match.start()}")
    parser = _Parser()
    parser.feed(markup)
    parser.close()
    if parser.stack:
        raise EntityError(f"Can't find end tag corresponding to start tag \"{parser.stack[-1]}\"")
    return "".join(parser.text), sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
