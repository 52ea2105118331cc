"""The event bus on real PostgreSQL: rows and NOTIFY only on commit, ids in commit order, visibility."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core import events
from core.events import Principal, events_after, may_see, publish
from core.listener import PgListener
from core.models import Event
from tests.events import settled_last_id
from tests.waiting import eventually, running


class Boom(Exception):
    pass


async def event_types(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.scalars(select(Event.type).order_by(Event.id))).all())


async def test_rolled_back_transaction_publishes_nothing_and_commit_notifies(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    listener = PgListener(dsn)
    notified: list[str] = []
    listener.on(events.CHANNEL, notified.append)
    async with running(listener.run()):
        await listener.wait_connected()
        with pytest.raises(Boom):
            async with sessions() as session, session.begin():
                publish(session, "ticket.created", {"ticket_id": 1})
                raise Boom
        async with sessions() as session:
            publish(session, "ticket.updated", {"ticket_id": 2})
            await session.rollback()
            publish(session, "ticket.closed", {"ticket_id": 3})
            await session.commit()
        # NOTIFYs arrive in commit order: had a rolled-back event notified, it would come first.
        await eventually(lambda: len(notified) >= 1)
        await asyncio.sleep(0.3)
    assert await event_types(sessions) == ["ticket.closed"]
    assert notified == [""], "one NOTIFY, sent after the commit (core.event_announcer), none for the rollbacks"


async def test_event_of_a_closed_uncommitted_session_is_not_published_later(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    session = sessions()
    await session.begin()
    publish(session, "ticket.created", {"ticket_id": 1})
    await session.close()
    async with session.begin():
        publish(session, "ticket.updated", {"ticket_id": 1})
    await session.close()
    assert await event_types(sessions) == ["ticket.updated"]


async def test_one_commit_with_several_events_writes_all_rows_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        for number in range(5):
            publish(session, "message.created", {"n": number}, ticket_id=7)
    await settled_last_id(sessions)
    async with sessions() as session:
        rows = await events_after(session, 0)
    assert [row.data["n"] for row in rows] == [0, 1, 2, 3, 4]
    assert all(row.ticket_id == 7 for row in rows)


_HOLD = 7_209_999  # the test holds this advisory lock to stop T1 inside its COMMIT
_PAUSE_INSIDE_COMMIT = (
    "CREATE TEMP TABLE pause_commit (n int) ON COMMIT DROP",
    "CREATE OR REPLACE FUNCTION pg_temp.pause_commit() RETURNS trigger LANGUAGE plpgsql AS"
    f" $$ BEGIN PERFORM pg_advisory_xact_lock_shared({_HOLD}); RETURN NULL; END $$",
    "CREATE CONSTRAINT TRIGGER pause_commit AFTER INSERT ON pause_commit DEFERRABLE INITIALLY DEFERRED"
    " FOR EACH ROW EXECUTE FUNCTION pg_temp.pause_commit()",
)


async def test_a_later_commit_is_not_delivered_before_an_earlier_transaction_ends(
    sessions: async_sessionmaker[AsyncSession], dsn: str
) -> None:
    """T1 is inside COMMIT, its event row written (its id drawn), not yet visible; T2 commits
    meanwhile, without waiting for T1 (no lock in COMMIT). Readers must not see T2's event before T1
    ends: had they, T1's smaller id would appear below an id already delivered. T1 is held there by a
    deferred trigger queued after core.events' own."""

    def pause_after_events(session: Session) -> None:  # runs after core.events handed over its batch
        for statement in (*_PAUSE_INSIDE_COMMIT, "INSERT INTO pause_commit VALUES (1)"):
            session.execute(text(statement))

    async def t1() -> None:
        async with sessions() as session:
            sa_event.listen(session.sync_session, "before_commit", pause_after_events)
            publish(session, "ticket.created", {"tx": 1})
            await session.commit()

    async def t2() -> None:
        async with sessions() as session, session.begin():
            publish(session, "ticket.created", {"tx": 2})

    async def t1_paused() -> bool:
        return bool(await holder.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", _HOLD))

    holder = await asyncpg.connect(dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", _HOLD)
        async with running(t1()) as (first,):
            await eventually(t1_paused)
            await asyncio.wait_for(t2(), 5)  # commits at once: nothing serialises publishing commits
            assert not first.done()
            async with sessions() as reader:
                assert await events_after(reader, 0) == []
                assert await events.last_event_id(reader) == 0
                committed = await reader.scalar(select(func.count()).select_from(Event))
            assert committed == 1, "T2's event is committed, only held back from readers"
            await holder.execute("SELECT pg_advisory_unlock($1)", _HOLD)
            await asyncio.wait_for(first, 5)
    finally:
        await holder.close()
    await settled_last_id(sessions)
    async with sessions() as session:
        rows = await events_after(session, 0)
    assert [row.data["tx"] for row in rows] == [1, 2]


async def test_reader_never_misses_an_event_under_concurrent_commits(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Twenty writers commit 10 events each while a reader follows 'events after my last id'."""
    seen: list[int] = []
    done = asyncio.Event()

    async def writer(number: int) -> None:
        for index in range(10):
            async with sessions() as session, session.begin():
                publish(session, "message.created", {"writer": number, "index": index})
            await asyncio.sleep(0)

    async def reader() -> None:
        last = 0
        while True:
            async with sessions() as session:
                batch = await events_after(session, last)
            seen.extend(row.id for row in batch)
            last = batch[-1].id if batch else last
            if done.is_set() and not batch and last == await settled_last_id(sessions):
                return

    async with running(reader()) as (reading,):
        await asyncio.gather(*(writer(n) for n in range(20)))
        done.set()
        await asyncio.wait_for(reading, 10)
    await settled_last_id(sessions)
    async with sessions() as session:
        all_ids = [row.id for row in await events_after(session, 0, limit=10_000)]
    assert len(all_ids) == 200
    assert seen == all_ids


AUDIENCES = [("staff", None), ("admin", None), ("store", 1), ("store", 2)]
PRINCIPALS = {
    "admin": Principal("admin", operator_id=1),
    "operator": Principal("operator", operator_id=2),
    "partner of store 1": Principal("partner", operator_id=3, store_ids=frozenset({1})),
    "partner of stores 1 and 2": Principal("partner", operator_id=4, store_ids=frozenset({1, 2})),
    "partner of no store": Principal("partner", operator_id=5),
}
EXPECTED = {
    "admin": ["staff", "admin", "store:1", "store:2"],
    "operator": ["staff", "store:1", "store:2"],
    "partner of store 1": ["store:1"],
    "partner of stores 1 and 2": ["store:1", "store:2"],
    "partner of no store": [],
}


@pytest.mark.parametrize("who", sorted(PRINCIPALS))
async def test_events_after_shows_each_principal_only_what_it_may_see(
    sessions: async_sessionmaker[AsyncSession], who: str
) -> None:
    async with sessions() as session, session.begin():
        publish(session, "old.event", {}, audience="staff")
    after = await settled_last_id(sessions)
    async with sessions() as session, session.begin():
        for audience, store_id in AUDIENCES:
            publish(session, "order.created", {}, audience=audience, store_id=store_id)
    await settled_last_id(sessions)
    principal = PRINCIPALS[who]
    async with sessions() as session:
        rows = await events_after(session, after, principal)
        every = await events_after(session, after)
    label = [f"{row.audience}:{row.store_id}" if row.store_id else row.audience for row in rows]
    assert label == EXPECTED[who]
    assert [row.id for row in rows] == [row.id for row in every if may_see(principal, row.audience, row.store_id)]


async def test_events_of_a_rolled_back_savepoint_are_not_published(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        publish(session, "before.savepoint", {})
        with pytest.raises(Boom):
            async with session.begin_nested():
                publish(session, "inside.failed.savepoint", {})
                raise Boom
        async with session.begin_nested():
            publish(session, "inside.kept.savepoint", {})
        publish(session, "after.savepoint", {})
    assert await event_types(sessions) == ["before.savepoint", "inside.kept.savepoint", "after.savepoint"]
