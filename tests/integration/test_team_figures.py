"""The dashboard's per-operator table on real PostgreSQL, from rows with known times: replies by author,
first-response medians by the first replier, resolution and CSAT by assignee, open tickets now; "no data"
stays None; one query per figure whatever the number of operators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from core.models import Message, Note, Ticket, TicketRating
from core.services.team import team_figures
from tests.web.harness import customer_ticket, make_operator

NOW = datetime.now(UTC)


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

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with sessions() as session:
            table = {row.name: row.json() for row in await team_figures(session, NOW - timedelta(days=7))}
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 6  # five figures and the names, not one per operator
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
