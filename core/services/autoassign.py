"""Auto-assignment: a queue whose `auto_assign` switch is on gives each ticket that is not closed to one
of its members (`queue_member`) who has the panel open, never to one already holding
`AssignmentRules.max_open` tickets that are not closed (in any queue). Who is next: the member with the
fewest open tickets, ties to the one whose last automatic ticket of this queue is oldest
(`queue_member.last_assigned_at`, never first), then the lower id. A ticket whose assignee has been
offline longer than `offline_after` goes to someone online under the cap, or back to the queue
(unassigned) when nobody has room. Every change goes through `tickets.assign(..., via="auto")`, so it is
audited, shown in the ticket's history and published as `ticket.assigned`.

Concurrency: tickets are taken `FOR UPDATE SKIP LOCKED` (a ticket another pass holds is its own; the
WHERE is checked again on the locked row, so a ticket is never given twice), and an operator is
claimed with a transaction-level advisory lock (`pg_try_advisory_xact_lock(LOCK_CLASS, operator id)`)
before their open tickets are counted: a second transaction that would give the same operator a ticket
skips them until the first commits, and then counts the first one's ticket too, so the cap holds across
processes. Both are transaction-scoped, so they work behind PgBouncer in transaction mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.assignment import AssignmentRules, rules_of
from core.models import Queue, Ticket
from core.services import tickets
from core.services.presence import ONLINE_WITHIN

LOCK_CLASS = 7201026  # advisory lock class: one transaction at a time gives a given operator tickets
BATCH = 100  # tickets looked at per pass and kind; the next pass takes the rest

_CANDIDATES = text(
    """
    SELECT m.operator_id FROM queue_member m
    JOIN operator o ON o.id = m.operator_id
    JOIN operator_presence p ON p.operator_id = m.operator_id
    WHERE m.queue_id = :queue_id AND o.is_active AND o.role IN ('admin', 'operator')
      AND p.left_at IS NULL AND p.last_seen_at > now() - make_interval(secs => :online)
      AND m.operator_id <> :exclude
    ORDER BY (SELECT count(*) FROM ticket t WHERE t.assignee_id = m.operator_id AND t.status <> 'closed'),
             m.last_assigned_at NULLS FIRST, m.operator_id
    """
)
_CLAIM = text("SELECT pg_try_advisory_xact_lock(:lock_class, CAST(:operator_id AS integer))")
_OPEN_COUNT = text("SELECT count(*) FROM ticket WHERE assignee_id = :operator_id AND status <> 'closed'")
_MARK = text("UPDATE queue_member SET last_assigned_at = clock_timestamp() "
             "WHERE queue_id = :queue_id AND operator_id = :operator_id")
# Assigned to someone whose panel closed (`left_at`) or stopped beating (`last_seen_at` + the online
# window) more than `offline` seconds ago; no presence row at all: never online.
_ORPHANED = text(
    """
    SELECT t.id, t.queue_id, t.assignee_id FROM ticket t
    JOIN queue q ON q.id = t.queue_id
    LEFT JOIN operator_presence p ON p.operator_id = t.assignee_id
    WHERE q.auto_assign AND t.assignee_id IS NOT NULL AND t.status <> 'closed'
      AND coalesce(p.left_at, p.last_seen_at + make_interval(secs => :online), '-infinity'::timestamptz)
          < now() - make_interval(secs => :offline)
    ORDER BY t.id LIMIT :limit
    FOR UPDATE OF t SKIP LOCKED
    """
)
_UNASSIGNED = text(
    """
    SELECT t.id, t.queue_id FROM ticket t
    JOIN queue q ON q.id = t.queue_id
    WHERE q.auto_assign AND t.assignee_id IS NULL AND t.status <> 'closed'
    ORDER BY t.created_at, t.id LIMIT :limit
    FOR UPDATE OF t SKIP LOCKED
    """
)


@dataclass(frozen=True)
class PassResult:
    assigned: int = 0  # unassigned tickets given to someone
    reassigned: int = 0  # tickets taken from someone away and given to someone online
    returned: int = 0  # tickets taken from someone away with nobody to give them to (now unassigned)


async def ticket_opened(session: AsyncSession, ticket: Ticket) -> int | None:
    """A new ticket of a queue that assigns automatically goes to the next operator at once, in the
    opening transaction (the row is new, so no other transaction can give it out meanwhile). Nobody
    online with room: it stays unassigned and the periodic pass gives it out later."""
    queue = await session.get(Queue, ticket.queue_id)
    if queue is None or not queue.auto_assign:
        return None
    return await _give(session, ticket.id, ticket.queue_id, rules_of(session))


async def run_pass(session: AsyncSession, rules: AssignmentRules | None = None) -> PassResult:
    """One pass over every queue that assigns automatically: first the tickets of operators who have
    been away too long, then the unassigned ones, oldest first. Writes in the caller's transaction (the
    job commits); idempotent, so a new scheduler leader may run it again at once."""
    rules = rules or rules_of(session)
    reassigned = returned = assigned = 0
    orphaned = (await session.execute(_ORPHANED, {"online": ONLINE_WITHIN.total_seconds(), "limit": BATCH,
                                                  "offline": rules.offline_after.total_seconds()})).all()
    for ticket_id, queue_id, away in orphaned:
        if await _give(session, ticket_id, queue_id, rules, exclude=away) is None:
            await tickets.assign(session, ticket_id, None, actor_kind="system", actor_id=None, via="auto")
            returned += 1
        else:
            reassigned += 1
    full: set[int] = set()  # queues where nobody online has room, asked once per pass
    for ticket_id, queue_id in (await session.execute(_UNASSIGNED, {"limit": BATCH})).all():
        if queue_id in full:
            continue
        if await _give(session, ticket_id, queue_id, rules) is None:
            full.add(queue_id)
        else:
            assigned += 1
    return PassResult(assigned=assigned, reassigned=reassigned, returned=returned)


async def _give(session: AsyncSession, ticket_id: int, queue_id: int, rules: AssignmentRules,
                exclude: int = 0) -> int | None:
    """Give the (locked or new) ticket to the first candidate this transaction can claim and who is
    under the cap; returns who got it."""
    candidates = await session.scalars(_CANDIDATES, {"queue_id": queue_id, "exclude": exclude,
                                                     "online": ONLINE_WITHIN.total_seconds()})
    for operator_id in list(candidates):
        if not await session.scalar(_CLAIM, {"lock_class": LOCK_CLASS, "operator_id": operator_id}):
            continue  # another transaction is giving them a ticket right now
        if int(await session.scalar(_OPEN_COUNT, {"operator_id": operator_id}) or 0) >= rules.max_open:
            continue
        await tickets.assign(session, ticket_id, operator_id, actor_kind="system", actor_id=None, via="auto")
        await session.execute(_MARK, {"queue_id": queue_id, "operator_id": operator_id})
        return int(operator_id)
    return None
