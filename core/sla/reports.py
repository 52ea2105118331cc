"""SLA numbers for the dashboard and `desk report sla`: attainment per priority and per queue,
median and p90 first-response and resolution times, for tickets opened in a window.

A deadline counts once it is judged: met or missed (an unanswered ticket past its deadline has
missed it); tickets still inside their deadlines are left out of the attainment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import PRIORITIES

_REPORT = text(
    """
    SELECT GROUPING(t.priority) AS by_all_priorities, GROUPING(q.name) AS by_all_queues,
           t.priority, q.name AS queue, min(q.position) AS position,
           count(*) AS tickets,
           count(*) FILTER (WHERE t.first_response_at <= t.frt_due_at) AS frt_met,
           count(*) FILTER (WHERE t.first_response_at IS NOT NULL OR t.frt_due_at < :now) AS frt_judged,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_response_at - t.sla_started_at))
               AS frt_median,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_response_at - t.sla_started_at))
               AS frt_p90,
           count(*) FILTER (WHERE t.status = 'closed' AND t.resolved_at <= t.ttr_due_at) AS ttr_met,
           count(*) FILTER (WHERE t.status = 'closed'
                              OR (t.sla_paused_at IS NULL AND t.ttr_due_at < :now)) AS ttr_judged,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
               CASE WHEN t.status = 'closed' THEN t.resolved_at - t.sla_started_at END)) AS ttr_median,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM
               CASE WHEN t.status = 'closed' THEN t.resolved_at - t.sla_started_at END)) AS ttr_p90
    FROM ticket t JOIN queue q ON q.id = t.queue_id
    WHERE t.created_at >= :since AND t.created_at < :until
    GROUP BY GROUPING SETS ((t.priority), (q.name), ())
    """
)


@dataclass(frozen=True)
class Line:
    """One row of the report. `group` is 'priority', 'queue' or 'total'."""

    group: str
    key: str
    tickets: int
    frt_met: int
    frt_judged: int
    frt_median: float | None
    frt_p90: float | None
    ttr_met: int
    ttr_judged: int
    ttr_median: float | None
    ttr_p90: float | None

    @property
    def frt_attainment(self) -> float | None:
        return self.frt_met / self.frt_judged if self.frt_judged else None

    @property
    def ttr_attainment(self) -> float | None:
        return self.ttr_met / self.ttr_judged if self.ttr_judged else None


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    lines: list[Line]

    def group(self, name: str) -> list[Line]:
        return [line for line in self.lines if line.group == name]


async def sla_report(session: AsyncSession, *, since: datetime, until: datetime, now: datetime) -> Report:
    rows = (await session.execute(_REPORT, {"since": since, "until": until, "now": now})).all()
    lines: list[tuple[tuple[int, int], Line]] = []
    for row in rows:
        if row.by_all_priorities and row.by_all_queues:
            group, key, order = "total", "all", (2, 0)
        elif row.by_all_queues:
            group, key, order = "priority", row.priority, (0, -PRIORITIES.index(row.priority))
        else:
            group, key, order = "queue", row.queue, (1, row.position)
        lines.append((order, Line(
            group, key, row.tickets, row.frt_met, row.frt_judged, row.frt_median, row.frt_p90,
            row.ttr_met, row.ttr_judged, row.ttr_median, row.ttr_p90,
        )))
    return Report(since, until, [line for _, line in sorted(lines, key=lambda item: item[0])])


async def last_days(session: AsyncSession, days: int, now: datetime) -> Report:
    return await sla_report(session, since=now - timedelta(days=days), until=now, now=now)


def short_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def _attainment(met: int, judged: int) -> str:
    return f"{met}/{judged} ({100 * met / judged:.0f}%)" if judged else "-"


def format_report(report: Report) -> str:
    """A plain-text table for the terminal."""
    header = ("", "tickets", "first response met", "median", "p90", "resolution met", "median", "p90")
    out = [f"SLA report: tickets opened {report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC", ""]
    for group, title in (("priority", "by priority"), ("queue", "by queue"), ("total", "total")):
        rows = [(title, *header[1:])]
        for line in report.group(group):
            rows.append((line.key, str(line.tickets), _attainment(line.frt_met, line.frt_judged),
                         short_duration(line.frt_median), short_duration(line.frt_p90),
                         _attainment(line.ttr_met, line.ttr_judged), short_duration(line.ttr_median),
                         short_duration(line.ttr_p90)))
        if len(rows) == 1:
            rows.append(("(no tickets)", "", "", "", "", "", "", ""))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:],
                                                                                           strict=True)]
            out.append("  ".join(cells).rstrip())
        out.append("")
    return "\n".join(out).rstrip() + "\n"
