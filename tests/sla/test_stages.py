"""The pure rule of the watch: which alert is due now and when to look next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.sla.stages import plan

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass
class Row:
    status: str = "open"
    frt_due_at: datetime | None = None
    ttr_due_at: datetime | None = None
    first_response_at: datetime | None = None
    sla_paused_at: datetime | None = None
    id: int = 7
    subject: str = "Site outage"
    priority: str = "high"
    queue_id: int = 1
    assignee_id: int | None = None
    sla_revision: int = 0


def stages(row: Row) -> list[tuple[str, str]]:
    return [(alert.target, alert.stage) for alert in plan(row, NOW, HOUR)[0]]


def test_far_deadlines_only_schedule_the_next_look_at_the_warning_time() -> None:
    row = Row(frt_due_at=NOW + 3 * HOUR, ttr_due_at=NOW + 10 * HOUR)
    assert plan(row, NOW, HOUR) == ([], NOW + 2 * HOUR)


def test_inside_the_warning_window_warns_and_looks_again_at_the_deadline() -> None:
    row = Row(frt_due_at=NOW + timedelta(minutes=32), ttr_due_at=NOW + 10 * HOUR)
    alerts, next_at = plan(row, NOW, HOUR)
    assert [(a.target, a.stage) for a in alerts] == [("first_response", "warning")]
    assert next_at == NOW + timedelta(minutes=32)


def test_a_passed_deadline_is_a_breach_without_a_late_warning() -> None:
    row = Row(frt_due_at=NOW - timedelta(minutes=1), ttr_due_at=NOW - HOUR)
    assert plan(row, NOW, HOUR)[1] is None
    assert stages(row) == [("first_response", "breach"), ("resolution", "breach")]


def test_met_first_response_waiting_and_closed_tickets() -> None:
    answered = Row(frt_due_at=NOW - HOUR, first_response_at=NOW - 2 * HOUR, ttr_due_at=NOW + HOUR / 2)
    assert stages(answered) == [("resolution", "warning")]
    waiting = Row(status="waiting_customer", frt_due_at=NOW - HOUR, first_response_at=NOW - 2 * HOUR,
                  sla_paused_at=NOW - HOUR)
    assert plan(waiting, NOW, HOUR) == ([], None)  # answered, and its resolution clock is paused
    unanswered = Row(status="waiting_customer", frt_due_at=NOW - HOUR, sla_paused_at=NOW - HOUR)
    assert stages(unanswered) == [("first_response", "breach")]  # waiting pauses the resolution clock only
    assert plan(Row(status="closed", frt_due_at=NOW - HOUR), NOW, HOUR) == ([], None)
