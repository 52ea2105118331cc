"""The staff group's texts: a ticket's card, the lines a topic shows, and the hints, in the group's
language (its linking admin's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.render import TEXT_LIMIT, attr, esc, split_plain
from core.i18n import N_, Tr
from core.staffgroup.view import Entry, EntryFile, TopicView

PRIORITY = {"low": N_("low"), "medium": N_("medium"), "high": N_("high"), "urgent": N_("urgent")}
REACTIONS = {"sent": "👍", "failed": "👎", "gone": "👎"}
TOPIC_NAME_LIMIT = 128


def topic_name(view: TopicView) -> str:
    """Customer, channel and ticket number (Telegram allows 128 characters)."""
    tail = f" · {view.channel} · #{view.ticket_id}"
    return view.customer[: TOPIC_NAME_LIMIT - len(tail)] + tail


def _when(value: datetime | None, tr: Tr) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else tr("none")


def card(view: TopicView, tr: Tr) -> str:
    title = tr("Ticket #{id}", id=view.ticket_id)
    rows = [
        (tr("Customer"), view.customer),
        (tr("Channel"), view.channel),
        (tr("Queue"), view.queue),
        (tr("Priority"), tr(PRIORITY.get(view.priority, view.priority))),
        (tr("First response due"), _when(view.frt_due_at, tr)),
        (tr("Resolution due"), _when(view.ttr_due_at, tr)),
    ]
    if view.assignee:
        rows.append((tr("Assignee"), view.assignee))
    link = tr("Open in the panel")
    how = tr("Reply here to answer the customer; start with /note or ! for an internal note.")
    lines = [f"<b>{esc(title)}</b> · {esc(view.subject)}", *(f"{esc(k)}: {esc(v)}" for k, v in rows),
             f'<a href="{attr(view.panel_url)}">{esc(link)}</a>', esc(how)]
    return "\n".join(lines)


def card_buttons(view: TopicView, tr: Tr) -> list[list[dict[str, str]]]:
    ticket = view.ticket_id
    return [
        [{"text": tr("Assign to me"), "callback_data": f"sg:assign:{ticket}"},
         {"text": tr("Close"), "callback_data": f"sg:close:{ticket}"}],
        [{"text": tr(PRIORITY[p]), "callback_data": f"sg:priority:{ticket}:{p}"} for p in PRIORITY],
    ]


def entry_text(entry: Entry, tr: Tr) -> str:
    body = esc(entry.body)
    files = "".join(f"\n📎 {esc(name)}" for name in entry.files)
    name = f"<b>{esc(entry.name)}</b>"
    if entry.author == "customer":
        head = name
    elif entry.author == "operator":
        label = tr("reply")
        head = f"{name} <i>({esc(label)})</i>"
    elif entry.author == "note":
        label = tr("internal note")
        head = f"📝 {name} <i>({esc(label)})</i>"
    elif entry.author == "edit":
        label = tr("edited")
        head = f"{name} <i>({esc(label)})</i>"
    elif entry.author == "system":
        return body
    else:
        label = tr("bot")
        head = f"<i>{esc(label)}</i>"
    return f"{head}\n{body}{files}"


def merged(entries: list[Entry], tr: Tr) -> list[tuple[str, int, list[EntryFile]]]:
    """Posts of several entries each, under Telegram's limit: (text, id of the last entry in it, the files
    of its entries, sent after it)."""
    posts: list[tuple[str, int, list[EntryFile]]] = []
    text, last = "", 0
    files: list[EntryFile] = []
    for entry in entries:
        if entry.author == "own":  # written in the topic: there already
            continue
        block = entry_text(entry, tr)
        if len(block) > TEXT_LIMIT:  # one long message: plain parts
            if text:
                posts.append((text, last, files))
                text, files = "", []
            parts = split_plain(esc(entry.body), TEXT_LIMIT - 200)
            posts.extend((part, entry.id, []) for part in parts[:-1])
            block = entry_text(Entry(entry.id, entry.author, entry.name, "", entry.files), tr) + parts[-1]
        if text and len(text) + 2 + len(block) > TEXT_LIMIT:
            posts.append((text, last, files))
            text, files = "", []
        text = f"{text}\n\n{block}" if text else block
        last = entry.id
        files = [*files, *entry.attachments]
    if text:
        posts.append((text, last, files))
    return posts


def summary_head(tr: Tr, linked: bool = False) -> str:
    if linked:
        return esc(tr("This ticket was already open when the group was linked. The latest messages so far:"))
    return esc(tr("The earlier topic of this ticket was deleted. The latest messages so far:"))


def not_linked_hint(tr: Tr, bot_username: str) -> str:
    return esc(tr("Only staff who linked Telegram to their desk account can answer here. Get your Telegram link "
                  "in the panel (Staff group page) and open it to talk to @{bot}.", bot=bot_username))


def reaction(outcome: str) -> list[dict[str, Any]]:
    return [{"type": "emoji", "emoji": REACTIONS.get(outcome, "👎")}]
