"""The dashboard's per-operator table on real PostgreSQL, from rows with known times: replies by author,
first-response medians by the first replier, resolution and CSAT by assignee, open tickets now; "no data"
stays None; two queries besides the period's figures whatever the number of operators. The table read
from the day rollups (plus the live edges) is that of the live computation (the queries of before, kept
here as the reference) for 7, 30 and 365 days, medians within the histograms' 1%; a day stored by an
older rollup version is computed live and then recomputed by the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from core.jobs.rollups import RefreshRollups
from core.models import Message, Note, Ticket, TicketRating
from core.services.dashboard import ROLLUP_VERSION, dashboard, period_figures
from core.services.team import OperatorFigures, team_table
from tests.integration.test_dashboard_rollups import Clock
from tests.web.harness import customer_ticket, make_operator

NOW = datetime.now(UTC)


async def team_figures(session: Any, since: datetime) -> list[OperatorFigures]:
    return await team_table(session, await period_figures(session, since, NOW))


async def ticket_at(sessions, user_id: int, created: datetime, *, first_reply: tuple[int, int] | None = None,
                    resolved_after: int | None = None, assignee: int | None = None, rating: int | None = None) -> int:
    """A ticket created at `created`; `first_reply` = (operator, seconds after creation)."""
    ticket_id, message_id = await customer_ticket(sessions, user_id=user_id, name=f"C{user_id}")
    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        ticket.created_at = created
        ticket.assignee_id = assignee
        (await session.get(Message, message_id)).created_at = created
        if first_reply is not None:
            operator_id, after = first_reply
            ticket.first_response_at = created + timedelta(seconds=after)
            session.add(Message(ticket_id=ticket_id, author_kind="operator", operator_id=operator_id, body="first",
                                created_at=ticket.first_response_at))
        if resolved_after is not None:
            ticket.status = "closed"
            ticket.resolved_at = ticket.closed_at = created + timedelta(seconds=resolved_after)
        else:
            ticket.status = "in_progress"
        if rating is not None:
            session.add(TicketRating(ticket_id=ticket_id, contact_id=ticket.contact_id, score=rating))
    return ticket_id


async def reply(sessions, ticket_id: int, operator_id: int, at: datetime) -> None:
    async with sessions() as session, session.begin():
        session.add(Message(ticket_id=ticket_id, author_kind="operator", operator_id=operator_id, body="more",
                            created_at=at))


async def test_figures_per_operator_from_known_rows(sessions, engine) -> None:
    ann = await make_operator(sessions, "ann@example.com")
    bob = await make_operator(sessions, "bob@example.com", role="admin")
    await make_operator(sessions, "cid@example.com")  # no work yet: a row of "no data"
    await make_operator(sessions, "shop@example.com", role="partner")  # not on the team table
    hour = timedelta(hours=1)
    first = await ticket_at(sessions, 1, NOW - 2 * hour, first_reply=(ann, 600), resolved_after=3600, assignee=ann,
                            rating=5)
    await reply(sessions, first, bob, NOW - hour)
    await ticket_at(sessions, 2, NOW - hour, first_reply=(ann, 1200), assignee=bob)
    await ticket_at(sessions, 3, NOW - 3 * hour, first_reply=(bob, 300), resolved_after=7200, assignee=bob, rating=2)
    await ticket_at(sessions, 4, NOW - timedelta(days=10), first_reply=(ann, 60), assignee=ann)
    async with sessions() as session, session.begin():  # neither a note nor a bot line is a reply
        session.add(Note(ticket_id=first, operator_id=ann, body="internal"))
        session.add(Message(ticket_id=first, author_kind="bot", body="bot line"))
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    async with sessions() as session:
        figures = await period_figures(session, NOW - timedelta(days=7), NOW)
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            table = {row.name: row.json() for row in await team_table(session, figures)}
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 2  # open tickets now and the names, not one per operator or per day
    for row in table.values():  # medians from 2% histograms: within 1% of the exact ones
        for name, exact in (("first_response_median", {"Ann": 900.0, "Bob": 300.0}),
                            ("resolution_median", {"Ann": 3600.0, "Bob": 7200.0})):
            if row[name] is not None:
                assert row[name] == pytest.approx(exact[row["name"]], rel=0.01)
                row[name] = exact[row["name"]]
    assert set(table) == {"Ann", "Bob", "Cid"}
    assert table["Ann"] | {"operator_id": 0} == {
        "operator_id": 0, "name": "Ann", "replies": 2, "first_response_median": 900.0, "resolution_median": 3600.0,
        "csat_average": 5.0, "csat_count": 1, "open_now": 1}  # the old ticket: still open, not in the period
    assert table["Bob"] | {"operator_id": 0} == {
        "operator_id": 0, "name": "Bob", "replies": 2, "first_response_median": 300.0, "resolution_median": 7200.0,
        "csat_average": 2.0, "csat_count": 1, "open_now": 1}
    assert table["Cid"] | {"operator_id": 0} == {
        "operator_id": 0, "name": "Cid", "replies": 0, "first_response_median": None, "resolution_median": None,
        "csat_average": None, "csat_count": 0, "open_now": 0}
    async with sessions() as session:
        wider = {row.name: row.replies for row in await team_figures(session, NOW - timedelta(days=30))}
    assert wider == {"Ann": 3, "Bob": 2, "Cid": 0}  # the ten-day-old reply counts in 30 days


REPLIES = ("SELECT operator_id, count(*) FROM message WHERE author_kind = 'operator' AND operator_id IS NOT NULL "
           "AND created_at >= :since GROUP BY 1")
FIRSTS = ("SELECT f.operator_id, percentile_cont(0.5) WITHIN GROUP "
          "(ORDER BY extract(epoch FROM t.first_response_at - t.created_at)) FROM ticket AS t "
          "CROSS JOIN LATERAL (SELECT m.operator_id FROM message AS m WHERE m.ticket_id = t.id "
          "AND m.author_kind = 'operator' ORDER BY m.id LIMIT 1) AS f "
          "WHERE f.operator_id IS NOT NULL AND t.created_at >= :since AND t.first_response_at IS NOT NULL GROUP BY 1")
RESOLUTIONS = ("SELECT assignee_id, percentile_cont(0.5) WITHIN GROUP "
               "(ORDER BY extract(epoch FROM coalesce(resolved_at, closed_at) - created_at)) FROM ticket "
               "WHERE created_at >= :since AND coalesce(resolved_at, closed_at) IS NOT NULL "
               "AND assignee_id IS NOT NULL GROUP BY 1")
CSAT = ("SELECT t.assignee_id, round(avg(r.score), 1), count(*) FROM ticket_rating AS r "
        "JOIN ticket AS t ON t.id = r.ticket_id WHERE r.created_at >= :since AND t.assignee_id IS NOT NULL GROUP BY 1")


async def live(session: Any, since: datetime) -> dict[int, dict[str, Any]]:
    """The per-operator figures computed live over the whole window: the reference."""
    found: dict[int, dict[str, Any]] = {}

    def row(operator_id: int) -> dict[str, Any]:
        return found.setdefault(operator_id, {"replies": 0, "first_response_median": None, "resolution_median": None,
                                              "csat_average": None, "csat_count": 0})

    window = {"since": since}
    for operator_id, n in (await session.execute(text(REPLIES), window)).all():
        row(operator_id)["replies"] = n
    for operator_id, median in (await session.execute(text(FIRSTS), window)).all():
        row(operator_id)["first_response_median"] = median
    for operator_id, median in (await session.execute(text(RESOLUTIONS), window)).all():
        row(operator_id)["resolution_median"] = median
    for operator_id, average, n in (await session.execute(text(CSAT), window)).all():
        row(operator_id)["csat_average"], row(operator_id)["csat_count"] = float(average), n
    return found


def agrees(team: list[dict[str, Any]], expected: dict[int, dict[str, Any]]) -> None:
    assert {row["operator_id"] for row in team if row["replies"] or row["csat_count"] or row["first_response_median"]
            or row["resolution_median"]} == set(expected)
    for row in team:
        want = expected.get(row["operator_id"])
        if want is None:
            continue
        assert (row["replies"], row["csat_average"], row["csat_count"]) == (
            want["replies"], want["csat_average"], want["csat_count"])
        for name in ("first_response_median", "resolution_median"):
            if want[name] is None:
                assert row[name] is None
            else:
                assert row[name] == pytest.approx(want[name], rel=0.011, abs=0.6)


async def fill(sessions: Any, now: datetime) -> list[int]:
    """A year of tickets, one every 23 hours, among three operators: first replies, later replies by
    another operator, resolutions and ratings at varied times."""
    team = [await make_operator(sessions, f"op{n}@example.com") for n in range(3)]
    async with sessions() as session, session.begin():
        queue = await session.scalar(text("SELECT min(id) FROM queue"))
        contact = await session.scalar(text("INSERT INTO contact (name) VALUES ('R') RETURNING id"))
        for n in range(400):
            created = now - timedelta(hours=23 * n + 1, minutes=n % 50)
            latest = now - timedelta(seconds=1)
            answered = min(created + timedelta(seconds=30 + (n * 137) % 7200), latest) if n % 5 else None
            closed = min(created + timedelta(hours=1 + n % 40, seconds=n * 7), latest) if n % 3 == 0 else None
            assignee = team[n % 3] if n % 7 else None
            ticket = await session.scalar(text(
                "INSERT INTO ticket (subject, status, priority, channel, queue_id, contact_id, assignee_id, "
                "created_at, updated_at, first_response_at, closed_at) VALUES ('x', :status, 'medium', 'telegram', "
                ":queue, :contact, :assignee, :created, :created, :answered, :closed) RETURNING id"),
                {"status": "closed" if closed else "open", "queue": queue, "contact": contact, "assignee": assignee,
                 "created": created, "answered": answered, "closed": closed})
            message = ("INSERT INTO message (ticket_id, author_kind, operator_id, body, created_at) "
                       "VALUES (:t, 'operator', :o, 'x', :at)")
            if answered:
                await session.execute(text(message), {"t": ticket, "o": team[(n // 2) % 3], "at": answered})
                later = min(answered + timedelta(hours=n % 30), latest)
                await session.execute(text(message), {"t": ticket, "o": team[(n + 1) % 3], "at": later})
            if closed and n % 2 == 0:
                await session.execute(text(
                    "INSERT INTO ticket_rating (ticket_id, contact_id, score, created_at) VALUES (:t, :c, :s, :at)"),
                    {"t": ticket, "c": contact, "s": 1 + n % 5, "at": closed})
    return team


async def test_team_from_rollups_is_the_live_table(sessions: Any) -> None:
    now = datetime.now(UTC)
    await fill(sessions, now)
    async with sessions() as session:
        before = {days: (await dashboard(session, days, now))["team"] for days in (7, 30, 365)}
        for days in (7, 30, 365):
            agrees(before[days], await live(session, now - timedelta(days=days)))
    job = RefreshRollups(sessions, clock=Clock(now))
    assert await job.run() >= 365
    async with sessions() as session:
        for days in (7, 30, 365):
            team = (await dashboard(session, days, now))["team"]
            agrees(team, await live(session, now - timedelta(days=days)))
            assert team == before[days]
    # A day stored before the per-operator figures (version 1: no team_* figures) ...
    async with sessions() as session, session.begin():
        old_day = await session.scalar(text(  # a day with every per-operator figure
            "SELECT day FROM dashboard_day WHERE day < :before AND figures->'team_replies' <> '{}' "
            "AND figures->'team_first_response' <> '{}' AND figures->'team_resolution' <> '{}' "
            "AND figures->'team_csat' <> '{}' ORDER BY day DESC LIMIT 1"),
            {"before": (now - timedelta(days=40)).date()})
        stored = await session.scalar(text("SELECT version FROM dashboard_day WHERE day = :day"), {"day": old_day})
        assert stored == ROLLUP_VERSION
        await session.execute(text(
            "UPDATE dashboard_day SET version = 1, figures = (SELECT jsonb_object_agg(key, value) "
            "FROM jsonb_each(figures) WHERE key NOT LIKE 'team%') WHERE day = :day"), {"day": old_day})
    async with sessions() as session:  # ... is computed live meanwhile: the table stays right
        assert (await dashboard(session, 365, now))["team"] == before[365]
    assert await job.run() == 3  # the two last days and the old one
    async with sessions() as session:
        version, figures = (await session.execute(
            text("SELECT version, figures FROM dashboard_day WHERE day = :day"), {"day": old_day})).one()
        assert version == ROLLUP_VERSION and "team_replies" in figures
        assert (await dashboard(session, 365, now))["team"] == before[365]
