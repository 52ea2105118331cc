"""The staff group's outbox kinds (channel `telegram`, lane `sg:<chat id>`):

- `topic_sync` {ticket_id}: make the ticket's topic if it has none (with its card; after staff deleted
  it, with a summary of the ticket too), then post what the topic has not shown yet: appended to the
  topic's last post by an edit while it fits there (under 4096 characters, a few minutes old, nothing
  else posted below it), else merged into as few new messages as fit, within the group's pace (about 20
  a minute; an edit counts like a post).
- `topic_post` {ticket_id, note_id | edited_message_id}: a note or a customer's edit.
- `topic_state` {ticket_id}: close or reopen the topic as the ticket is now.
- `topic_card` {ticket_id}: the card edited in place (priority, queue, assignee changed).
- `topic_reaction` {chat_id, message_id, outcome}: whether a reply written in a topic reached the customer.

A topic Telegram no longer has ("message thread not found") is made again; a group that is no longer a
forum, where the bot lost its rights or was removed, is marked for the panel and /healthz and the
delivery ends there (the ticket goes on in the panel; the topic catches up once the group is fixed)."""

from __future__ import annotations

from typing import Any

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BufferedInputFile, ReactionTypeEmoji

from bot.channel import CHANNEL_NAME, Sender
from bot.outbound.reply import PHOTO_MAX, PHOTO_TYPES
from bot.outbound.text import markup
from bot.staffgroup import render
from core.i18n import Tr
from core.outbox import Delivery, PermanentFailure
from core.staffgroup import links
from core.staffgroup import view as topics
from core.staffgroup.topics import LINKED
from core.staffgroup.view import Entry, EntryFile, TopicView

THREAD_GONE = ("message thread not found", "topic_deleted", "topic_id_invalid")
NOT_MODIFIED = "topic_not_modified"


class TopicGone(Exception):
    pass


def _problem(exc: Exception) -> str | None:
    """The group's state a Telegram error means, None when it says nothing about the group."""
    if isinstance(exc, TelegramForbiddenError):
        return links.REMOVED
    text = str(getattr(exc, "message", exc)).lower()
    if "not a forum" in text:
        return links.NOT_FORUM
    if "not enough rights" in text or "chat_admin_required" in text:
        return links.NO_RIGHTS
    if "chat not found" in text:
        return links.REMOVED
    return None


def _ticket(delivery: Delivery) -> int:
    try:
        return int(delivery.payload["ticket_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"bad {delivery.kind} payload: {exc!r}") from exc


async def _view(sender: Sender, ticket_id: int) -> TopicView | None:
    async with sender.desk.sessions() as session:
        return await topics.topic_view(session, ticket_id, sender.desk.settings.origin)


def _tr(sender: Sender, view: TopicView) -> Tr:
    return Tr(sender.desk.translator, view.language)


async def _guarded(sender: Sender, ticket_id: int, work: Any) -> dict[str, Any]:
    """Run `work(view)`; a deleted topic is made again once; a broken group is marked."""
    for _ in range(2):
        view = await _view(sender, ticket_id)
        if view is None:
            return {"skipped": "no topic"}
        try:
            return await work(view)  # type: ignore[no-any-return]
        except TopicGone:
            continue
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            problem = _problem(exc)
            if problem is None:
                raise
            async with sender.desk.sessions() as session, session.begin():
                await links.mark_group(session, view.chat_id, problem, exc.message)
            return {"skipped": problem}
    return {"skipped": "topic lost twice"}


async def _send(sender: Sender, view: TopicView, text: str, **extra: Any) -> int:
    assert view.thread_id is not None
    await sender.paced(view.chat_id)
    try:
        sent = await sender.bot.send_message(view.chat_id, text, message_thread_id=view.thread_id, **extra)
    except TelegramBadRequest as exc:
        if any(marker in exc.message.lower() for marker in THREAD_GONE):
            async with sender.desk.sessions() as session, session.begin():
                await topics.topic_lost(session, view.ticket_id, view.thread_id)
            raise TopicGone from exc
        raise
    return sent.message_id


async def _send_file(sender: Sender, view: TopicView, item: EntryFile) -> None:
    """A customer's file in the topic: by Telegram's id when it came from Telegram, else its bytes."""
    assert view.thread_id is not None
    media: str | BufferedInputFile | None = item.channel_ref
    for _ in range(2):
        if media is None:
            if item.storage_key is None:
                return  # nothing to send: the post names it
            media = BufferedInputFile(await sender.desk.storage.read(item.storage_key), filename=item.name)
        await sender.paced(view.chat_id)
        try:
            if item.content_type in PHOTO_TYPES and item.size <= PHOTO_MAX:
                await sender.bot.send_photo(view.chat_id, media, message_thread_id=view.thread_id)
            else:
                await sender.bot.send_document(view.chat_id, media, message_thread_id=view.thread_id)
            return
        except TelegramBadRequest as exc:
            text = exc.message.lower()
            if any(marker in text for marker in THREAD_GONE):
                async with sender.desk.sessions() as session, session.begin():
                    await topics.topic_lost(session, view.ticket_id, view.thread_id)
                raise TopicGone from exc
            if not isinstance(media, str) or "file" not in text:
                raise
            media = None  # an id of another kind of file (a voice as a document): upload the bytes


async def _ensure_topic(sender: Sender, view: TopicView, intro: str | None = None) -> TopicView:
    """The topic with its card (a card that failed once is sent by the next delivery), and a summary of the
    ticket so far when the topic replaces a deleted one or the ticket was open before the group was linked
    (`intro` == topics.LINKED)."""
    if view.thread_id is None:
        await sender.paced(view.chat_id)
        topic = await sender.bot.create_forum_topic(view.chat_id, render.topic_name(view))
        async with sender.desk.sessions() as session, session.begin():
            await topics.topic_made(session, view.ticket_id, topic.message_thread_id)
            await links.mark_group(session, view.chat_id, "ok")
        made = await _view(sender, view.ticket_id)
        assert made is not None
        view = made
    if view.card_message_id is not None:
        return view
    tr = _tr(sender, view)
    card_id = await _send(sender, view, render.card(view, tr), reply_markup=markup(render.card_buttons(view, tr)))
    async with sender.desk.sessions() as session, session.begin():
        await topics.card_posted(session, view.ticket_id, card_id)
        lines = await topics.summary(session, view) if view.recreated or intro == LINKED else []
    if lines:
        head = render.summary_head(tr, linked=not view.recreated)
        for text, _, _ in render.merged([Entry(0, "system", "", head), *lines], tr):
            await _send(sender, view, text)
    if view.status == "closed":
        await _set_state(sender, view)
    return view


async def _post_pending(sender: Sender, view: TopicView) -> int:
    """Post what the topic has not shown yet: first appended to the topic's last post by an edit, as much as
    fits there (`_append`), the rest as new posts merged under Telegram's limit. The cursor moves after each."""
    async with sender.desk.sessions() as session:
        entries = await topics.pending(session, view, staff_channel=CHANNEL_NAME)
        earlier = await topics.appendable(session, view, staff_channel=CHANNEL_NAME) if entries else []
    if not entries:
        return 0
    tr, sent = _tr(sender, view), 0
    first = view.shown_up_to + 1
    appended = await _append(sender, view, earlier, entries, tr) if earlier else None
    if appended is not None:
        sent, first = 1, appended + 1
    for text, last, files in render.merged([entry for entry in entries if entry.id >= first], tr):
        message_id = await _send(sender, view, text)
        for item in files:  # before the cursor moves: a failed file is sent again, never dropped
            await _send_file(sender, view, item)
        sent += 1 + len(files)
        async with sender.desk.sessions() as session, session.begin():
            await topics.posted(session, view.ticket_id, None if files else message_id, first, last)
        first = last + 1
    async with sender.desk.sessions() as session, session.begin():  # lines written in the topic itself
        if any(entry.author == "own" and entry.id >= first for entry in entries):
            await topics.post_ended(session, view.ticket_id)  # staff wrote below the last post
        await topics.shown(session, view.ticket_id, max(entry.id for entry in entries))
    return sent


async def _append(sender: Sender, view: TopicView, earlier: list[Entry], entries: list[Entry], tr: Tr) -> int | None:
    """Append the first new lines to the topic's last post (one edit, paced like a post), as many as fit in
    it with no file among them; returns the id of the last line appended, None when none was."""
    if any(entry.author == "own" or entry.attachments for entry in earlier):
        return None
    text, last, files = render.merged([*earlier, *entries], tr)[0]
    covered = [entry for entry in entries if entry.id <= last]
    if files or not covered or any(entry.author == "own" for entry in covered):
        return None
    assert view.last_post_id is not None
    await sender.paced(view.chat_id)
    try:
        await sender.bot.edit_message_text(text, chat_id=view.chat_id, message_id=view.last_post_id)
    except TelegramBadRequest as exc:
        reason = exc.message.lower()
        if "not modified" not in reason:
            if "not found" not in reason and "can't be edited" not in reason:
                raise
            async with sender.desk.sessions() as session, session.begin():
                await topics.post_ended(session, view.ticket_id)
            return None  # the post is gone: the lines get a new one
    async with sender.desk.sessions() as session, session.begin():
        await topics.shown(session, view.ticket_id, last)
    return last


async def send_topic_sync(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    async def work(view: TopicView) -> dict[str, Any]:
        view = await _ensure_topic(sender, view, delivery.payload.get("summary"))
        posts = await _post_pending(sender, view)
        return {"thread_id": view.thread_id, "posts": posts}

    return await _guarded(sender, _ticket(delivery), work)


async def send_topic_post(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    payload = delivery.payload

    async def work(view: TopicView) -> dict[str, Any]:
        view = await _ensure_topic(sender, view)
        async with sender.desk.sessions() as session:
            if payload.get("note_id") is not None:
                entry = await topics.note_entry(session, int(payload["note_id"]))
            else:
                entry = await topics.edit_entry(session, view, int(payload.get("edited_message_id") or 0))
        if entry is None:
            return {"skipped": "gone"}
        message_id = 0
        for text, _, _ in render.merged([entry], _tr(sender, view)):
            message_id = await _send(sender, view, text)
        async with sender.desk.sessions() as session, session.begin():
            await topics.post_ended(session, view.ticket_id)  # the next lines go below it
        return {"external_id": message_id}

    return await _guarded(sender, _ticket(delivery), work)


async def _set_state(sender: Sender, view: TopicView) -> str:
    assert view.thread_id is not None
    closed = view.status == "closed"
    try:
        if closed:
            await sender.bot.close_forum_topic(view.chat_id, view.thread_id)
        else:
            await sender.bot.reopen_forum_topic(view.chat_id, view.thread_id)
    except TelegramBadRequest as exc:
        if NOT_MODIFIED not in exc.message.lower():
            raise
    state = "closed" if closed else "open"
    async with sender.desk.sessions() as session, session.begin():
        await topics.topic_state(session, view.ticket_id, state)
    return state


async def send_topic_state(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    async def work(view: TopicView) -> dict[str, Any]:
        if view.thread_id is None:
            return {"skipped": "no topic yet"}  # made later, in the ticket's state then
        try:
            return {"state": await _set_state(sender, view)}
        except TelegramBadRequest as exc:
            if any(marker in exc.message.lower() for marker in THREAD_GONE):
                return {"skipped": "topic gone"}  # made again with the next message
            raise

    return await _guarded(sender, _ticket(delivery), work)


async def send_topic_card(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    async def work(view: TopicView) -> dict[str, Any]:
        if view.thread_id is None or view.card_message_id is None:
            return {"skipped": "no card yet"}  # the card made later shows the ticket as it is then
        tr = _tr(sender, view)
        await sender.paced(view.chat_id)
        try:
            await sender.bot.edit_message_text(render.card(view, tr), chat_id=view.chat_id,
                                               message_id=view.card_message_id,
                                               reply_markup=markup(render.card_buttons(view, tr)))
        except TelegramBadRequest as exc:
            text = exc.message.lower()
            if "not modified" in text:
                return {"edited": False}
            if "not found" in text or any(marker in text for marker in THREAD_GONE):
                return {"skipped": "card gone"}
            raise
        return {"edited": True}

    return await _guarded(sender, _ticket(delivery), work)


async def send_topic_reaction(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    payload = delivery.payload
    try:
        chat_id, message_id = int(payload["chat_id"]), int(payload["message_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"bad topic_reaction payload: {exc!r}") from exc
    emoji = render.reaction(str(payload.get("outcome")))[0]["emoji"]
    await sender.bot.set_message_reaction(chat_id, message_id, reaction=[ReactionTypeEmoji(emoji=emoji)])
    return {"reaction": emoji}


def staff_group_kinds() -> dict[str, Any]:
    return {"topic_sync": send_topic_sync, "topic_post": send_topic_post, "topic_state": send_topic_state,
            "topic_card": send_topic_card, "topic_reaction": send_topic_reaction}
