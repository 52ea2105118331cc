"""What each channel calls our messages and files, so core keeps no column per channel.

A message's refs are a list of ids per channel, in the order the channel gave them:
`{telegram: ["812", "813"]}` (an album, or a reply that went out in parts: several Telegram
messages are one stored message), `{"email": ["<id@host>"]}`. Ids are strings whatever the channel.
An attachment's refs are one id per channel: `{telegram: "<file_id>", email: "<content-id>"}`,
what the channel accepts to send the same bytes again without a new upload.

The JSONB values are replaced, never changed in place (SQLAlchemy does not see in-place changes).
`external_key` is not a ref: it stays the idempotency key that intake, edits and replies look up."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Attachment, Message


def refs_of(channel: str, ids: Iterable[object]) -> dict[str, list[str]]:
    """A new message's refs on `channel` (no entry when it has no ids)."""
    found = [str(i) for i in ids]
    return {channel: found} if found else {}


def message_refs(message: Message, channel: str) -> list[str]:
    """The message's ids on `channel`, first one first (empty when it never went through it)."""
    return [str(i) for i in (message.channel_refs or {}).get(channel, [])]


def first_ref(message: Message, channel: str) -> str | None:
    """The id a channel answers to (a reply quotes it): the first of the message's ids there."""
    ids = message_refs(message, channel)
    return ids[0] if ids else None


def merged(refs: Mapping[str, Any] | None, channel: str, ids: Iterable[object]) -> dict[str, Any]:
    """`refs` with `ids` appended on `channel`, each id once, order kept."""
    current = dict(refs or {})
    known = [str(i) for i in current.get(channel, [])]
    current[channel] = known + [i for i in dict.fromkeys(str(i) for i in ids) if i not in known]
    return current


def add_message_refs(message: Message, channel: str, ids: Iterable[object]) -> list[str]:
    """Add ids to the message's refs on `channel`; returns the ids that were new."""
    before = message_refs(message, channel)
    message.channel_refs = merged(message.channel_refs, channel, ids)
    return [i for i in message_refs(message, channel) if i not in before]


def file_ref(attachment: Attachment | Mapping[str, Any], channel: str) -> str | None:
    """What `channel` calls this file (an attachment or its refs map), if it has seen it."""
    refs = attachment if isinstance(attachment, Mapping) else attachment.channel_refs
    value = (refs or {}).get(channel)
    return str(value) if value else None


_REMEMBER_FILE = (
    update(Attachment)
    .where(Attachment.id == bindparam("attachment_id"))
    .values(channel_refs=Attachment.channel_refs.op("||")(bindparam("patch", type_=JSONB)))
)


async def remember_file_ref(session: AsyncSession, attachment_id: int, channel: str, ref: str) -> None:
    """Record what `channel` calls a file it accepted (Telegram's file id after an upload), so the
    next send of the same attachment reuses it. One statement: it merges into the map, so two
    channels recording at once both keep theirs. The caller commits."""
    await session.execute(_REMEMBER_FILE, {"attachment_id": attachment_id, "patch": {channel: ref}})
