"""A mail that arrives while the poller handles the previous one is taken in at once: the server
announces it (`* 2 EXISTS`) in the answer to a FETCH or STORE, never during IDLE, and the poller
looks again instead of idling for the whole poll interval."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.mail.poller import MailPoller
from core.models import Ticket
from tests.mail.conftest import eventually, mail
from tests.mail.imap_responder import ScriptedImap


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedImap]:
    server = ScriptedImap()
    await server.start()
    yield server
    await server.stop()


async def _subjects(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.scalars(select(Ticket.subject).order_by(Ticket.id))).all())


@pytest.mark.parametrize("announce_in", ["FETCH", "STORE"])
async def test_mail_announced_in_a_command_answer_becomes_a_ticket_without_waiting_for_the_poll(
    scripted: ScriptedImap, make_poller: Callable[..., MailPoller], sessions: async_sessionmaker[AsyncSession],
    announce_in: str,
) -> None:
    scripted.announce_in = announce_in
    scripted.mails.append(mail(subject="First", sender="ann@example.com", message_id="<n1@example.com>"))
    second = mail(subject="Second", sender="bob@example.com", message_id="<n2@example.com>")

    def arrive_while_handling_the_first(verb: str, mails: list[bytes]) -> None:
        if verb == "FETCH" and len(mails) == 1:
            mails.append(second)

    scripted.on_command = arrive_while_handling_the_first
    poller = make_poller(poll_seconds=60.0)  # a wait of this length fails the test
    poller.imap = dataclasses.replace(poller.imap, port=scripted.port)
    started = time.monotonic()
    task = asyncio.create_task(poller.run())
    try:
        async def both_in() -> bool:
            return await _subjects(sessions) == ["First", "Second"]

        await eventually(both_in, timeout=5)
    finally:
        poller.stop()
        await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 5
    assert scripted.seen == {1, 2}
