"""The two SLA clocks of a ticket.

First response: due `policy.first_response` of business time after the clock started; met by the
first public operator reply, and never paused (a question waiting for the customer is still
unanswered). Resolution: due `policy.resolution` of business time after the start,
plus the business time the clock spent paused; paused while the ticket waits for the customer
(and frozen while closed). While paused `ttr_due_at` is empty: there is nothing to count down.
"""

from __future__ import annotations

from datetime import datetime

from core.models import Ticket
from core.sla.calendar import BusinessCalendar, add_business, business_seconds
from core.sla.policy import Policy


def start_clocks(ticket: Ticket, now: datetime) -> None:
    ticket.sla_started_at = now
    ticket.sla_paused_at = None
    ticket.sla_paused_seconds = 0


def compute(ticket: Ticket, policy: Policy, calendar: BusinessCalendar | None, now: datetime) -> None:
    """(Re)compute both deadlines from the start; a deadline already met stays as it was."""
    start = ticket.sla_started_at or now
    if ticket.first_response_at is None:
        ticket.frt_due_at = add_business(calendar, start, policy.first_response_seconds)
    if ticket.resolved_at is None:
        ticket.ttr_due_at = (
            add_business(calendar, start, policy.resolution_seconds + ticket.sla_paused_seconds)
            if ticket.sla_paused_at is None
            else None
        )


def pause(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
        ticket.ttr_due_at = None


def resume(ticket: Ticket, policy: Policy, calendar: BusinessCalendar | None, now: datetime) -> None:
    """Count the pause (in business time) and move the resolution deadline by it."""
    if ticket.sla_paused_at is None:
        return
    ticket.sla_paused_seconds += business_seconds(calendar, ticket.sla_paused_at, now)
    ticket.sla_paused_at = None
    compute(ticket, policy, calendar, now)


def close(ticket: Ticket, policy: Policy, calendar: BusinessCalendar | None, now: datetime) -> None:
    """Resolution met now; the deadline it is judged against is settled (a pause ends here),
    and the clock stays frozen until a reopen resumes it."""
    resume(ticket, policy, calendar, now)
    compute(ticket, policy, calendar, now)
    ticket.resolved_at = now
    ticket.sla_paused_at = now


def reopen(ticket: Ticket) -> None:
    ticket.resolved_at = None


def is_running(ticket: Ticket) -> bool:
    return ticket.status != "closed" and ticket.sla_paused_at is None
