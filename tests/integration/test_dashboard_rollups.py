"""Dashboard rollups (issue 20): the figures read from `dashboard_day` plus the live edges are those of
the live computation over the whole window (the queries of before, kept here as the reference), for 7,
30 and 365 days; the job is idempotent and follows a ticket that changed long after its day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from core.jobs.rollups import RefreshRollups
from core.models import DashboardDay
from core.services.dashboard import dashboard


class Clock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


REFERENCE = {
    "by_status": "SELECT status, count(*) FROM ticket WHERE created_at >= :since GROUP BY 1",
    "by_channel": "SELECT channel, count(*) FROM ticket WHERE created_at >= :since GROUP BY 1",
    "by_queue": "SELECT q.name, count(*) FROM ticket t JOIN queue q ON q.id = t.queue_id "
                "WHERE t.created_at >= :since GROUP BY 1",
}
TIMES = ("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), percentile_cont(0.9) WITHIN GROUP (ORDER BY s), "
         "count(*) FROM (SELECT extract(epoch FROM {end} - created_at) AS s FROM ticket "
         "WHERE created_at >= :since AND {end} IS NOT NULL) AS x")


async def fill(session: Any, now: datetime) -> None:
    queues = list(await session.scalars(text("SELECT id FROM queue ORDER BY id")))
    contact = await session.scalar(text("INSERT INTO contact (name) VALUES ('R') RETURNING id"))
    for n in range(400):  # a ticket every 23 hours back over a year, with varied outcomes
        created = now - timedelta(hours=23 * n + 1, minutes=n % 50)
        latest = now - timedelta(seconds=1)  # nothing after now
        answered = min(created + timedelta(seconds=30 + (n * 137) % 7200), latest) if n % 5 else None
        closed = min(created + timedelta(hours=1 + n % 40), latest) if n % 3 == 0 else None
        ticket = await session.scalar(text(
            "INSERT INTO ticket (subject, status, priority, channel, queue_id, contact_id, created_at, updated_at, "
            "first_response_at, closed_at, frt_due_at) VALUES ('x', :status, 'medium', :channel, :queue, :contact, "
            ":created, :created, :answered, :closed, :due) RETURNING id"),
            {"status": "closed" if closed else ("open" if n % 2 else "in_progress"),
             "channel": ("telegram", "email", "web")[n % 3], "queue": queues[n % len(queues)], "contact": contact,
             "created": created, "answered": answered, "closed": closed, "due": created + timedelta(minutes=60)})
        if closed and n % 2 == 0:
            await session.execute(text(
                "INSERT INTO ticket_rating (ticket_id, contact_id, score, created_at) VALUES (:t, :c, :s, :at)"),
                {"t": ticket, "c": contact, "s": 1 + n % 5, "at": closed})


async def reference(session: Any, days: int, now: datetime) -> dict[str, Any]:
    since = {"since": now - timedelta(days=days)}
    found: dict[str, Any] = {}
    for name, sql in REFERENCE.items():
        found[name] = dict(sorted((await session.execute(text(sql), since)).all()))
    for name, end in (("first_response", "first_response_at"), ("resolution", "coalesce(resolved_at, closed_at)")):
        median, p90, count = (await session.execute(text(TIMES.format(end=end)), since)).one()
        found[name] = (median, p90, count)
    found["csat_count"] = await session.scalar(
        text("SELECT count(*) FROM ticket_rating WHERE created_at >= :since"), since)
    return found


def agrees(figures: dict[str, Any], expected: dict[str, Any]) -> None:
    assert figures["by_status"] == expected["by_status"]
    assert figures["by_channel"] == expected["by_channel"]
    assert figures["by_queue"] == expected["by_queue"]
    assert figures["total"] == sum(expected["by_status"].values())
    assert figures["csat"]["count"] == expected["csat_count"]
    for name in ("first_response", "resolution"):
        median, p90, count = expected[name]
        assert figures[name]["count"] == count
        assert figures[name]["median"] == pytest.approx(median, rel=0.011, abs=0.6)
        assert figures[name]["p90"] == pytest.approx(p90, rel=0.011, abs=0.6)


async def test_rollups_give_the_figures_of_the_live_computation(sessions: Any) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        await fill(session, now)
    async with sessions() as session:
        live = {days: await dashboard(session, days, now) for days in (7, 30, 365)}
        for days in (7, 30, 365):
            agrees(live[days], await reference(session, days, now))
    job = RefreshRollups(sessions, clock=Clock(now))
    assert await job.run() >= 365  # every day since the first ticket
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(DashboardDay))
        for days in (7, 30, 365):
            figures = await dashboard(session, days, now)
            agrees(figures, await reference(session, days, now))
            assert figures == live[days]
    assert await job.run() == 2  # idempotent: the two last days again, nothing else changed
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DashboardDay)) == stored
    async with sessions() as session, session.begin():  # a ticket of 20 days ago closes today
        await session.execute(text(
            "UPDATE ticket SET status = 'closed', closed_at = now(), updated_at = now() WHERE id = "
            "(SELECT id FROM ticket WHERE status <> 'closed' AND created_at < :old ORDER BY created_at DESC LIMIT 1)"),
            {"old": now - timedelta(days=20)})
    assert await job.run() == 3
    async with sessions() as session:
        agrees(await dashboard(session, 30, now), await reference(session, 30, now))


SPANS = "SELECT count(*) FROM dashboard_span"


async def test_spans_give_the_figures_of_the_live_computation(sessions: Any) -> None:
    """Months and weeks summed by the job: periods of every length ending on several days (so their
    edges fall inside weeks and months, across month ends) equal the live computation over raw rows;
    a day recomputed drops its spans and the pass sums them again; a pass killed before summing (no
    spans) leaves the figures right and the next pass restores them."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        await fill(session, now)
    ends = [now - timedelta(days=back, hours=back) for back in (0, 9, 17, 26)]
    periods = (7, 30, 45, 365)
    async with sessions() as session:
        live = {(end, days): await dashboard(session, days, end) for end in ends for days in periods}
    job = RefreshRollups(sessions, clock=Clock(now))
    await job.run()
    async with sessions() as session:
        # every whole month and week of the filled year: about 12 months and 48 weeks
        assert await session.scalar(text(SPANS)) >= 55
        spans = (await session.execute(text("SELECT start, stop, figures FROM dashboard_span"))).all()
        for start, stop, figures in spans:  # each span is the sum of its days
            days = await session.execute(text(
                "SELECT k.key, sum(k.value::bigint) FROM dashboard_day AS d, jsonb_each(d.figures) AS f, "
                "jsonb_each_text(f.value) AS k WHERE d.day >= :start AND d.day < :stop AND f.key = 'by_status' "
                "GROUP BY 1"), {"start": start, "stop": stop})
            assert {key: int(n) for key, n in days.all()} == figures.get("by_status", {})
        for (end, days), expected in live.items():
            figures = await dashboard(session, days, end)
            agrees(figures, await reference(session, days, end))
            assert figures == expected
    async with sessions() as session, session.begin():  # a ticket of 40 days ago closes now
        await session.execute(text(
            "UPDATE ticket SET status = 'closed', closed_at = now(), updated_at = now() WHERE id = "
            "(SELECT id FROM ticket WHERE status <> 'closed' AND created_at < :old ORDER BY created_at DESC LIMIT 1)"),
            {"old": now - timedelta(days=40)})
    await job.run()
    async with sessions() as session:
        assert await session.scalar(text(SPANS)) == len(spans)
        for days in periods:
            agrees(await dashboard(session, days, now), await reference(session, days, now))
    async with sessions() as session, session.begin():  # a pass killed after its days, before its spans
        await session.execute(text("DELETE FROM dashboard_span"))
    async with sessions() as session:
        for days in periods:
            agrees(await dashboard(session, days, now), await reference(session, days, now))
    await job.run()
    async with sessions() as session:
        assert await session.scalar(text(SPANS)) == len(spans)
        for days in periods:
            agrees(await dashboard(session, days, now), await reference(session, days, now))
