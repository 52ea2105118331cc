"""Small admin-managed lists the panel edits: queues and saved replies."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Queue, SavedReply
from core.services import audit

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


async def list_queues(session: AsyncSession) -> list[Queue]:
    return list(await session.scalars(select(Queue).order_by(Queue.position, Queue.id)))


async def create_queue(
    session: AsyncSession, *, slug: str, name: str, actor_id: int, name_ru: str | None = None,
    assign_on_reply: bool = True, auto_assign: bool = False,
) -> Queue:
    if not SLUG.match(slug):
        raise InvalidInput("slug", field="slug")
    if await session.scalar(select(Queue.id).where(Queue.slug == slug)):
        raise Conflict("slug taken", field="slug")
    position = int(await session.scalar(select(func.coalesce(func.max(Queue.position), 0))) or 0) + 1
    queue = Queue(slug=slug, name=_name(name), name_ru=_name(name_ru, field="name_ru") if name_ru else None,
                  position=position, assign_on_reply=assign_on_reply, auto_assign=auto_assign)
    session.add(queue)
    await session.flush()
    audit.record(session, actor_kind="operator", actor_id=actor_id, action="queue.created", object_type="queue",
                 object_id=queue.id)
    return queue


async def update_queue(
    session: AsyncSession, queue_id: int, *, actor_id: int, name: str | None = None,
    customer_visible: bool | None = None, position: int | None = None, name_ru: str | None = None,
    assign_on_reply: bool | None = None, auto_assign: bool | None = None,
) -> Queue:
    """Change what is given; `name_ru=""` removes the Russian name (then `name` shows in both languages).
    `auto_assign` turns the queue's automatic assignment (`core.services.autoassign`) on or off."""
    queue = await session.get(Queue, queue_id, with_for_update=True)
    if queue is None:
        raise NotFound("queue", queue_id=queue_id)
    if name is not None:
        queue.name = _name(name)
    if customer_visible is not None:
        queue.customer_visible = customer_visible
    if position is not None:
        queue.position = position
    if name_ru is not None:
        queue.name_ru = _name(name_ru, field="name_ru") if name_ru.strip() else None
    if assign_on_reply is not None:
        queue.assign_on_reply = assign_on_reply
    if auto_assign is not None:
        queue.auto_assign = auto_assign
    audit.record(session, actor_kind="operator", actor_id=actor_id, action="queue.updated", object_type="queue",
                 object_id=queue.id)
    await session.flush()
    return queue


def _name(value: str, limit: int = 128, field: str = "name") -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInput(field, field=field)
    return value


async def list_saved_replies(session: AsyncSession, language: str | None = None) -> list[SavedReply]:
    query = select(SavedReply).order_by(SavedReply.shortcut, SavedReply.language)
    if language:
        query = query.where(SavedReply.language == language)
    return list(await session.scalars(query))


async def save_reply(
    session: AsyncSession, *, shortcut: str, title: str, body: str, language: str, actor_id: int,
    reply_id: int | None = None,
) -> SavedReply:
    """Create, or update when `reply_id` is given. Shortcuts are unique per language."""
    shortcut = shortcut.strip().lstrip("/").lower()
    if not SHORTCUT.match(shortcut):
        raise InvalidInput("shortcut", field="shortcut")
    if language not in LANGUAGES:
        raise InvalidInput("language", field="language")
    body = body.strip()
    if not body or len(body) > 4000:
        raise InvalidInput("body", field="body")
    clash = await session.scalar(
        select(SavedReply.id).where(SavedReply.shortcut == shortcut, SavedReply.language == language)
    )
    if clash is not None and clash != reply_id:
        raise Conflict("shortcut taken", field="shortcut")
    if reply_id is None:
        reply = SavedReply(created_by=actor_id)
        session.add(reply)
    else:
        found = await session.get(SavedReply, reply_id, with_for_update=True)
        if found is None:
            raise NotFound("saved reply", reply_id=reply_id)
        reply = found
    reply.shortcut, reply.title, reply.body, reply.language = shortcut, _name(title), body, language
    await session.flush()
    return reply


async def delete_saved_reply(session: AsyncSession, reply_id: int) -> None:
    reply = await session.get(SavedReply, reply_id)
    if reply is None:
        raise NotFound("saved reply", reply_id=reply_id)
    await session.delete(reply)
