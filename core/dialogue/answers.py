"""What the dialogue says, and the buttons it offers, with no channel in it: an adapter renders an
`Answer` (Telegram: HTML and an inline keyboard; another channel: whatever it shows) and turns a
pressed button back into its `Action`.

Texts are plain (the adapter escapes them) and already in the customer's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# The actions a button can carry: a name and small arguments (ids, a queue slug, a score).
MENU_ASK = "menu.ask"
MENU_TICKETS = "menu.tickets"
MENU_ORDER = "menu.order"
MENU_ORDERS = "menu.orders"
HUMAN = "human"  # talk to a human (from the menu, a suggestion list, a miss)
KB_HELPED = "kb.helped"  # (article_id,)
KB_SHOW = "kb.show"  # (article_id,)
KB_HUMAN = "kb.human"  # (article_id,): the article did not help
TOPIC = "handoff.topic"  # (queue slug,)
CLOSE = "close"  # (ticket_id,)
RATE = "rate"  # (ticket_id, score); score 0 skips the comment


@dataclass(frozen=True)
class Action:
    name: str
    args: tuple[int | str, ...] = ()

    def int_arg(self, index: int = 0) -> int:
        value = self.args[index]
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
            raise ValueError(f"{self.name}: argument {index} is not a number")
        return int(value)


@dataclass(frozen=True)
class Button:
    label: str
    action: Action


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class ArticleView:
    """A knowledge-base article to show whole: the body is the author's markdown."""

    id: int
    title: str
    body: str
    links: tuple[Link, ...] = ()
    links_heading: str = ""  # "Links:" in the customer's language


@dataclass(frozen=True)
class Answer:
    """One thing the desk says. `ack` answers the press of a button (a toast where the channel has
    them, else nothing or a line); `alert` asks that it be seen (a dialog)."""

    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    article: ArticleView | None = None
    request: Literal["file", "contact"] | None = None
    ack: bool = False
    alert: bool = False


@dataclass(frozen=True)
class Incoming:
    """A customer message as the dialogue needs it before any ticket exists: its text (None for a file,
    a sticker...), a one-line summary for a ticket's subject, the channel's raw form (JSON; the
    channel's parser turns it into an `Inbound` only when it is stored) and the key that dedupes it."""

    text: str | None
    raw: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    summary: str = ""
