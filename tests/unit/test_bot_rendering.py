"""Markdown articles become Telegram HTML that Telegram accepts, split under 4096 characters."""

from __future__ import annotations

from bot.markdown import pack, to_blocks
from bot.render import signed, split_plain
from tests.botapi.html_check import plain_text


def test_markdown_is_escaped_and_only_safe_tags_and_links_survive() -> None:
    blocks = to_blocks("# Title\nA <script>x</script> & **bold** [ok](https://e.com/?a=1&b=2) [no](javascript:x)\n\n"
                       "- one\n- two\n\n```\na < b\n```")
    html = "\n\n".join(blocks)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://e.com/?a=1&amp;b=2">ok</a>' in html
    assert 'href="javascript' not in html
    assert blocks[0] == "<b>Title</b>" and "• one" in blocks and "<pre>a &lt; b</pre>" in blocks
    assert "a < b" in plain_text(html)


def test_long_articles_split_under_the_limit_without_breaking_tags() -> None:
    paragraphs = [f"**Step {n}.** " + "word & more " * 40 for n in range(40)]
    huge = "x" * 9000
    messages = pack(to_blocks("\n\n".join([*paragraphs, huge])))
    assert len(messages) >= 4
    for message in messages:
        assert len(message) <= 4096
        plain_text(message)  # raises on broken HTML, as Telegram would


def test_split_plain_never_cuts_an_entity() -> None:
    text = ("a" * 4093) + "&amp;" + "b" * 10
    parts = split_plain(text)
    assert parts[0] == "a" * 4093 and parts[1].startswith("&amp;")


def test_operator_signature_is_escaped() -> None:
    assert signed("1 < 2", "Olga <Support>") == "1 &lt; 2\n\n— <i>Olga &lt;Support&gt;</i>"
