"""Which SLA alerts are due for a ticket at a moment, and when to look at it next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Alert:
    ticket_id: int
    subject: str
    priority: str
    queue_id: int
    assignee_id: int | None
    target: str
    stage: str
    revision: int
    due_at: datetime

    @property
    def key(self) -> tuple[int, str, str, int]:
        return (self.ticket_id, self.target, self.stage, self.revision)


def plan(row: Any, now: datetime, warn_before: timedelta) -> tuple[list[Alert], datetime | None]:
    """The alerts due for one ticket now, and when to look at it next (None: nothing left to watch)."""
    deadlines: list[tuple[str, datetime]] = []
    if row.status == "closed":
        return [], None
    # Waiting for the customer pauses only the resolution clock: an unanswered question stays unanswered.
    if row.first_response_at is None and row.frt_due_at is not None:
        deadlines.append(("first_response", row.frt_due_at))
    if row.sla_paused_at is None and row.ttr_due_at is not None:
        deadlines.append(("resolution", row.ttr_due_at))
    alerts: list[Alert] = []
    later: list[datetime] = []
    for target, due in deadlines:
        if due <= now:
            stage = "breach"
        elif due - warn_before <= now:
            stage = "warning"
            later.append(due)
        else:
            later.append(due - warn_before)
            continue
        alerts.append(Alert(row.id, row.subject, row.priority, row.queue_id, row.assignee_id, target, stage,
                            row.sla_revision, due))
    return alerts, min(later) if later else None
