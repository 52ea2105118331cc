"""Housekeeping jobs with a controlled clock: auto-close with a notice first, rating requests once,
event pruning in batches, orphaned attachment files."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import outbox
from core.i18n import Translator
from core.jobs.autoclose import AutoClose
from core.jobs.prune import PruneEvents, RemoveOrphanFiles
from core.jobs.ratings import RatingRequests, rating_key
from core.mail.quarantine import Setaside, quarantine
from core.models import Blob, Contact, Event, OutboxItem, Ticket
from core.orders import photos, stores
from core.services import conversations, tickets
from core.services.conversations import Inbound, NewAttachment
from core.storage import AttachmentStore, FolderStore, MissingFile, digest_of
from core.storage_db import DatabaseStore
from tests.images import png
from tests.sla.clocks import ManualClock
from tests.sla.conftest import START, load, open_ticket


def autoclose(sessions: async_sessionmaker[AsyncSession], translator: Translator, clock: ManualClock,
              notice_hours: float = 24) -> AutoClose:
    return AutoClose(sessions, translator, after=timedelta(days=7), notice_before=timedelta(hours=notice_hours),
                     clock=clock)


async def wait_for_customer(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> None:
    async with sessions() as session, session.begin():
        await tickets.change_status(session, ticket_id, "waiting_customer", actor_kind="system", actor_id=None)


async def texts(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, dict[str, object]]]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxItem).where(OutboxItem.kind == "text").order_by(OutboxItem.id))
        return [(row.channel, row.payload) for row in rows]


async def test_waiting_ticket_gets_a_notice_then_is_closed_then_asked_for_a_rating_once(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, translator: Translator
) -> None:
    ticket_id = await open_ticket(clocked, subject="Refund")
    await wait_for_customer(clocked, ticket_id)
    job = autoclose(clocked, translator, clock)
    ratings = RatingRequests(clocked, translator, delay=timedelta(minutes=10), max_age=timedelta(days=3),
                             clock=clock)
    clock.advance(days=5)
    assert await job.run() == (0, 0)
    clock.advance(days=1, hours=1)
    assert await job.run() == (1, 0)
    assert await job.run() == (0, 0)
    [(channel, notice)] = await texts(clocked)
    assert channel == "telegram" and notice["chat_id"] == 5001
    assert notice["text"] == (f"Your ticket #{ticket_id} “Refund” is waiting for your reply. If we do not hear "
                              "from you within 24 h, we will close it. Just reply to keep it open.")
    clock.set(START + timedelta(days=7, minutes=1))
    assert await job.run() == (0, 0)  # the notice said 24 h: the customer gets them all
    clock.set(START + timedelta(days=7, hours=1, minutes=1))
    assert await job.run() == (0, 1)
    closed = await load(clocked, ticket_id)
    assert closed.status == "closed"
    assert await ratings.run() == 0  # not before the delay
    clock.advance(minutes=10)
    assert await ratings.run() == 1
    assert await ratings.run() == 0
    async with clocked() as session, session.begin():  # reopened and closed again: not asked again
        await tickets.change_status(session, ticket_id, "open", actor_kind="system", actor_id=None)
        await tickets.change_status(session, ticket_id, "closed", actor_kind="system", actor_id=None)
    clock.advance(minutes=30)
    assert await ratings.run() == 0
    rating = (await texts(clocked))[-1][1]
    assert rating["text"] == f"Your ticket #{ticket_id} “Refund” is closed. How did we do? Rate us from 1 to 5:"
    assert [b["callback_data"] for b in rating["buttons"][0]] == [f"rate:{ticket_id}:{n}" for n in range(1, 6)]


async def test_a_customer_who_replies_after_the_notice_is_not_closed_on(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, translator: Translator
) -> None:
    ticket_id = await open_ticket(clocked)
    await wait_for_customer(clocked, ticket_id)
    job = autoclose(clocked, translator, clock)
    clock.advance(days=6, hours=12)
    assert await job.run() == (1, 0)
    async with clocked() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await conversations.customer_wrote(session, ticket, Inbound(body="wait, I'm here", external_key="tg:5001:1"))
    clock.advance(days=2)
    assert await job.run() == (0, 0)
    assert (await load(clocked, ticket_id)).status == "open"  # back to the operators, not closed
    # A new waiting period gets its own notice, and the close waits for it.
    await wait_for_customer(clocked, ticket_id)
    clock.advance(days=8)  # the job was down for longer than the whole period
    assert await job.run() == (1, 0)
    assert (await load(clocked, ticket_id)).status == "waiting_customer"
    clock.advance(hours=24)
    assert await job.run() == (0, 1)


async def test_email_customers_get_the_notice_by_email_in_their_language(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, translator: Translator
) -> None:
    ticket_id = await open_ticket(clocked, channel="email", queue="email", subject="Invoice",
                                  telegram_user_id=None)
    async with clocked() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        contact = await session.get(Contact, ticket.contact_id)
        assert contact is not None
        contact.language = "ru"
    await wait_for_customer(clocked, ticket_id)
    clock.advance(days=6, hours=22)
    assert await autoclose(clocked, translator, clock).run() == (1, 0)
    [(channel, payload)] = await texts(clocked)
    assert channel == "email"
    assert payload["to"] == "c@x.org"
    assert payload["subject"] == f"Заявка #{ticket_id}: ждём вашего ответа"
    assert "в течение 24 ч" in str(payload["text"]) and "Invoice" in str(payload["text"])


async def test_without_a_notice_the_ticket_is_closed_after_n_days(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, translator: Translator
) -> None:
    ticket_id = await open_ticket(clocked)
    await wait_for_customer(clocked, ticket_id)
    clock.advance(days=7, seconds=1)
    assert await autoclose(clocked, translator, clock, notice_hours=0).run() == (0, 1)
    assert (await load(clocked, ticket_id)).status == "closed"
    assert await texts(clocked) == []


async def test_no_rating_request_when_the_support_bot_already_asked(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, translator: Translator
) -> None:
    ticket_id = await open_ticket(clocked)
    async with clocked() as session, session.begin():
        await tickets.change_status(session, ticket_id, "closed", actor_kind="system", actor_id=None)
        await outbox.enqueue(session, channel="telegram", kind="text", payload={"chat_id": 5001, "text": "Rate us"},
                             idempotency_key=rating_key(ticket_id), order_key="tg:5001")
    clock.advance(hours=1)
    ratings = RatingRequests(clocked, translator, delay=timedelta(minutes=10), max_age=timedelta(days=3),
                             clock=clock)
    assert await ratings.run() == 0
    assert [payload["text"] for _, payload in await texts(clocked)] == ["Rate us"]


async def test_old_events_are_pruned_in_batches(clocked: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    async with clocked() as session, session.begin():
        old = [{"type": "x.old", "data": {}, "created_at": START - timedelta(days=31, minutes=i)} for i in range(12)]
        new = [{"type": "x.new", "data": {}, "created_at": START - timedelta(days=29)} for _ in range(3)]
        # Rows as a desk that ran for a month holds them; the ids are given (since 0029 only the
        # publishing trigger draws them), small ones, as the oldest events' are.
        await session.execute(insert(Event), [{"id": n, **row} for n, row in enumerate(old + new, start=1)])
    assert await PruneEvents(clocked, timedelta(days=30), clock=clock, batch=5).run() == 12
    async with clocked() as session:
        left = (await session.execute(select(Event.type, func.count()).group_by(Event.type))).all()
    assert left == [("x.new", 3)]


def file_store(kind: str, sessions: async_sessionmaker[AsyncSession], root: Path) -> AttachmentStore:
    return FolderStore(root, 1_000_000) if kind == "folder" else DatabaseStore(sessions, 1_000_000)


async def saved_at(store: AttachmentStore, sessions: async_sessionmaker[AsyncSession], key: str,
                   when: datetime) -> None:
    if isinstance(store, FolderStore):
        os.utime(store.path(key), (when.timestamp(), when.timestamp()))
        return
    async with sessions() as session, session.begin():
        await session.execute(update(Blob).where(Blob.sha256 == digest_of(key)).values(touched_at=when))


async def kept(store: AttachmentStore, key: str) -> bool:
    try:
        await store.stat(key)
    except MissingFile:
        return False
    return True


@pytest.mark.parametrize("kind", ["database", "folder"])
async def test_orphaned_attachment_files_are_removed_after_the_grace_period(
    clocked: async_sessionmaker[AsyncSession], clock: ManualClock, tmp_path: Path, kind: str
) -> None:
    store = file_store(kind, clocked, tmp_path / "attachments")
    in_use = await store.save(b"in use", "a.txt", "text/plain")
    orphan = await store.save(b"nobody", "b.txt", "text/plain")
    fresh = await store.save(b"just saved", "c.txt", "text/plain")
    quarantined = await store.save(b"From: nobody\r\n\r\nset aside", "mail-1.eml", "message/rfc822")
    image = png()
    ticket_id = await open_ticket(clocked)
    async with clocked() as session, session.begin():
        shop = await stores.create_store(session, name="Pizza Roma")
        pizza = await stores.add_product(session, store_id=shop.id, name="Margherita", price_minor=100)
        photo_key = (await photos.set_photo(session, store, shop.id, pizza.id, image, actor_id=None)).photo_key
    assert photo_key is not None
    async with clocked() as session, session.begin():
        await quarantine(session, Setaside(mailbox="support@desk.test/INBOX", uid=1, uidvalidity=1, reason="no_sender",
                                           raw_storage_key=quarantined.storage_key))
    async with clocked() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await conversations.customer_wrote(session, ticket, Inbound(
            body="", kind="file", external_key="tg:5001:7",
            attachments=(NewAttachment("a.txt", "text/plain", in_use.size, in_use.sha256, in_use.storage_key),)))
    for key in (in_use.storage_key, orphan.storage_key, quarantined.storage_key, photo_key):
        await saved_at(store, clocked, key, clock.now() - timedelta(days=2))
    await saved_at(store, clocked, fresh.storage_key, clock.now())
    job = RemoveOrphanFiles(clocked, store, timedelta(hours=24), clock=clock)
    assert await job.run() == 1
    assert await kept(store, in_use.storage_key)
    assert not await kept(store, orphan.storage_key)
    assert await kept(store, fresh.storage_key)
    assert await kept(store, quarantined.storage_key)  # an admin may still download or retry it
    assert await kept(store, photo_key)  # a product's photo, uploaded in the panel
    await store.save(b"nobody", "b.txt", "text/plain")  # saved again: back, and fresh for the sweep
    assert await store.read(orphan.storage_key) == b"nobody" and await job.run() == 0
