"""Article Markdown as safe Telegram HTML: only the tags Telegram knows, every text escaped, links
limited to http(s)/tg/mailto, split into messages under 4096 characters at block boundaries."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.render import TEXT_LIMIT, attr, esc, split_plain

SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")
_INLINE = {"strong": "b", "em": "i", "s": "s"}
_parser = MarkdownIt("commonmark").enable("strikethrough")


def to_blocks(markdown: str) -> list[str]:
    """One balanced HTML fragment per paragraph, heading, list item, code block or quote."""
    blocks: list[str] = []
    prefix: list[str] = []
    counters: list[int | None] = []
    quote = 0
    for token in _parser.parse(markdown or ""):
        if token.type == "bullet_list_open":
            counters.append(None)
        elif token.type == "ordered_list_open":
            counters.append(int(token.attrs.get("start", 1) or 1))
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            counters.pop()
        elif token.type == "list_item_open":
            number = counters[-1] if counters else None
            prefix.append("  " * (len(counters) - 1) + ("• " if number is None else f"{number}. "))
            if number is not None:
                counters[-1] = number + 1
        elif token.type == "blockquote_open":
            quote += 1
        elif token.type == "blockquote_close":
            quote -= 1
        elif token.type == "inline":
            html = inline(token.children or [])
            lead = "".join(prefix)
            prefix.clear()
            blocks.append(f"<blockquote>{lead}{html}</blockquote>" if quote else lead + html)
        elif token.type == "heading_open":
            blocks.append("")  # marks the next inline as a heading
        elif token.type == "heading_close":
            heading = blocks.pop() if blocks else ""
            if blocks and blocks[-1] == "":
                blocks.pop()
            blocks.append(f"<b>{heading}</b>")
        elif token.type in ("fence", "code_block"):
            blocks.append(f"<pre>{esc(token.content.rstrip())}</pre>")
        elif token.type == "hr":
            blocks.append("———")
        elif token.type == "html_block":
            blocks.append(esc(token.content.strip()))
    return [block for block in blocks if block.strip()]


def inline(children: list[Token]) -> str:
    out: list[str] = []
    link_open = False
    for child in children:
        kind = child.type
        if kind == "text":
            out.append(esc(child.content))
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "code_inline":
            out.append(f"<code>{esc(child.content)}</code>")
        elif kind.endswith("_open") and kind[:-5] in _INLINE:
            out.append(f"<{_INLINE[kind[:-5]]}>")
        elif kind.endswith("_close") and kind[:-6] in _INLINE:
            out.append(f"</{_INLINE[kind[:-6]]}>")
        elif kind == "link_open":
            href = str(child.attrs.get("href", ""))
            link_open = href.startswith(SAFE_SCHEMES)
            if link_open:
                out.append(f'<a href="{attr(href)}">')
        elif kind == "link_close":
            if link_open:
                out.append("</a>")
            link_open = False
        elif kind == "image":
            out.append(esc(child.content or str(child.attrs.get("alt", ""))))
        elif kind == "html_inline":
            out.append(esc(child.content))
    return "".join(out)


def pack(blocks: list[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Join blocks with blank lines into as few messages as fit; an oversized block loses its
    formatting and is split as plain text (never mid-tag)."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        pieces = [block] if len(block) <= limit else split_plain(esc(_strip_tags(block)), limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def _strip_tags(html: str) -> str:
    import html as html_lib
    import re

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))
