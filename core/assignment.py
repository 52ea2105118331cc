"""The desk's auto-assignment rules (AUTO_ASSIGN_MAX_OPEN, AUTO_ASSIGN_OFFLINE_MINUTES), carried by every
session like the channel registry, so the ticket-opening use case applies them with no extra argument.
Which queues assign automatically is each queue's own switch (`queue.auto_assign`); the cap and the
grace are the same for every queue, because they describe an operator's workload, not a queue's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from core.settings import Settings

RULES_KEY = "auto_assign"


@dataclass(frozen=True)
class AssignmentRules:
    max_open: int = 5  # an operator holding this many tickets that are not closed gets no more
    offline_after: timedelta = timedelta(minutes=10)  # away this long: their tickets go to someone online


DEFAULT_RULES = AssignmentRules()


def rules_of(session: AsyncSession) -> AssignmentRules:
    """The rules the session factory was given (`create_session_factory(..., assignment=...)`), else the defaults."""
    found = session.info.get(RULES_KEY)
    return found if isinstance(found, AssignmentRules) else DEFAULT_RULES


def assignment_rules(settings: Settings) -> AssignmentRules:
    return AssignmentRules(max_open=settings.auto_assign_max_open,
                           offline_after=timedelta(minutes=settings.auto_assign_offline_minutes))
