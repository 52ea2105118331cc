"""Linking a forum supergroup for staff, and what is wrong with a linked one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.errors import Conflict, NotAllowed, NotFound
from core.models import Operator, Queue, StaffGroup, TicketTopic
from core.services import audit

# What Telegram says about a group, as the bot found it (getChat, getChatMember of the bot).
NOT_FORUM, NO_RIGHTS, REMOVED = "not_forum", "no_rights", "removed"


@dataclass(frozen=True)
class GroupFacts:
    chat_id: int
    title: str
    is_forum: bool
    can_manage_topics: bool


@dataclass(frozen=True)
class LinkResult:
    group: StaffGroup | None
    missing: tuple[str, ...]  # NOT_FORUM, NO_RIGHTS: why the group was not linked
    queue: Queue | None = None
    topics: int = 0  # open tickets that get (or catch up) their topic there now


async def admin_of(session: AsyncSession, telegram_user_id: int) -> Operator:
    """The active admin whose account this Telegram user linked; NotAllowed otherwise."""
    operator = await staff_of(session, telegram_user_id)
    if operator is None or operator.role != "admin":
        raise NotAllowed("only an admin who linked Telegram may link the staff group")
    return operator


async def staff_of(session: AsyncSession, telegram_user_id: int) -> Operator | None:
    """The active operator or admin whose account this Telegram user linked (partners are not staff)."""
    operator = await session.scalar(select(Operator).where(Operator.telegram_user_id == telegram_user_id))
    if operator is None or not operator.is_active or operator.role not in ("admin", "operator"):
        return None
    return operator


def missing_of(facts: GroupFacts) -> tuple[str, ...]:
    missing = []
    if not facts.is_forum:
        missing.append(NOT_FORUM)
    if not facts.can_manage_topics:
        missing.append(NO_RIGHTS)
    return tuple(missing)


async def link_group(session: AsyncSession, admin: Operator, facts: GroupFacts,
                     queue_slug: str | None = None) -> LinkResult:
    """Make the group the staff group (the default one, or `queue_slug`'s own); refused with what is
    missing when it is not a forum or the bot may not manage topics."""
    missing = missing_of(facts)
    if missing:
        return LinkResult(None, missing)
    queue = None
    if queue_slug:
        queue = await session.scalar(select(Queue).where(Queue.slug == queue_slug))
        if queue is None:
            return LinkResult(None, ("no_queue",))
    stmt = insert(StaffGroup).values(chat_id=facts.chat_id, queue_id=queue.id if queue else None,
                                     title=facts.title[:255], state="ok", problem=None, linked_by=admin.id)
    stmt = stmt.on_conflict_do_update(constraint="uq_staff_group_queue_id", set_={
        "chat_id": stmt.excluded.chat_id, "title": stmt.excluded.title, "state": "ok", "problem": None,
        "linked_by": stmt.excluded.linked_by, "updated_at": func.now()})
    group_id = (await session.execute(stmt.returning(StaffGroup.id))).scalar_one()
    group = await session.get(StaffGroup, group_id, populate_existing=True)
    assert group is not None
    from core.staffgroup.topics import catch_up  # topics asks links which group a queue uses

    count = await catch_up(session, group)
    audit.record(session, actor_kind="operator", actor_id=admin.id, action="staff_group.linked",
                 object_type="staff_group", object_id=group_id)
    events.publish(session, "staff_group.updated", group_payload(group), audience="admin")
    return LinkResult(group, (), queue, count)


async def serve_queue(session: AsyncSession, admin: Operator, group_id: int, queue_id: int | None) -> LinkResult:
    """Let a linked group serve one queue's tickets, or be the default group (`queue_id` None); admins
    only, the bot already in the group. Open tickets it covers now and that have no topic in a linked
    group get one there (as at linking); tickets that have their topic keep it."""
    if admin.role != "admin":
        raise NotAllowed("only admins choose what a staff group serves")
    group = await session.get(StaffGroup, group_id, with_for_update=True)
    if group is None:
        raise NotFound("staff_group", group_id=group_id)
    queue = await session.get(Queue, queue_id) if queue_id is not None else None
    if queue_id is not None and queue is None:
        raise NotFound("queue", queue_id=queue_id)
    if group.queue_id == queue_id:
        return LinkResult(group, (), queue)
    taken = await session.scalar(select(StaffGroup.id).where(
        StaffGroup.queue_id == queue_id if queue_id is not None else StaffGroup.queue_id.is_(None),
        StaffGroup.id != group_id))
    if taken is not None:
        raise Conflict("another group serves it already: unlink that one first", group_id=taken)
    try:
        async with session.begin_nested():  # two admins racing for one queue: the second gets the 409
            group.queue_id, group.updated_at = queue_id, func.now()
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("another group serves it already: unlink that one first") from exc
    from core.staffgroup.topics import catch_up

    count = await catch_up(session, group)
    audit.record(session, actor_kind="operator", actor_id=admin.id, action="staff_group.queue_changed",
                 object_type="staff_group", object_id=group_id, queue_id=queue_id)
    events.publish(session, "staff_group.updated", group_payload(group), audience="admin")
    return LinkResult(group, (), queue, count)


async def group_for_queue(session: AsyncSession, queue_id: int) -> StaffGroup | None:
    """The queue's own group, else the default one; None when no group is linked."""
    rows = (await session.scalars(
        select(StaffGroup).where((StaffGroup.queue_id == queue_id) | StaffGroup.queue_id.is_(None))
        .order_by(StaffGroup.queue_id.is_(None))
    )).all()
    return rows[0] if rows else None


async def mark_group(session: AsyncSession, chat_id: int, state: str, problem: str | None = None) -> None:
    """What a delivery found about a group (`ok`, or why topics cannot be made or written there)."""
    for group in (await session.scalars(select(StaffGroup).where(StaffGroup.chat_id == chat_id))).all():
        if group.state == state and group.problem == problem:
            continue
        group.state, group.problem, group.updated_at = state, problem, func.now()
        await session.flush()
        events.publish(session, "staff_group.updated", group_payload(group), audience="admin")


async def unlink_group(session: AsyncSession, admin: Operator, group_id: int) -> None:
    """Stop using a group: nothing more is posted there and what staff write in its topics is refused with
    a hint. The topics stay in Telegram and their rows here, so linking the same group again reuses the
    ones that still exist (each gets what it missed meanwhile) instead of making them twice."""
    if admin.role != "admin":
        raise NotAllowed("only admins unlink the staff group")
    group = await session.get(StaffGroup, group_id)
    if group is None:
        raise NotFound("staff_group", group_id=group_id)
    await session.execute(delete(TicketTopic).where(TicketTopic.chat_id == group.chat_id,
                                                    TicketTopic.thread_id.is_(None)))
    await session.delete(group)
    audit.record(session, actor_kind="operator", actor_id=admin.id, action="staff_group.unlinked",
                 object_type="staff_group", object_id=group_id)
    events.publish(session, "staff_group.updated", {"id": group_id, "deleted": True}, audience="admin")


async def groups(session: AsyncSession) -> list[StaffGroup]:
    return list((await session.scalars(select(StaffGroup).order_by(StaffGroup.id))).all())


def group_payload(group: StaffGroup | None) -> dict[str, object]:
    if group is None:
        return {}
    return {"id": group.id, "chat_id": group.chat_id, "queue_id": group.queue_id, "title": group.title,
            "state": group.state, "problem": group.problem}
