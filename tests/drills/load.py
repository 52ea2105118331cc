"""Steady inbound load for a drill: customers writing about once a second each, an operator replying
about twice a second; what was sent and what the API accepted is recorded for the checks after."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tests.botapi import TelegramServer, TgUser
from tests.drills.customers import hand_off
from tests.drills.operator import Operator, Reply, Socket
from tests.drills.process import DeskProcess, create_admin


@dataclass
class Load:
    telegram: TelegramServer
    operator: Operator
    customers: list[TgUser]
    tickets: list[int]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    written: dict[str, float] = field(default_factory=dict)  # customer body -> when the server handed it out
    replies: list[tuple[float, Reply]] = field(default_factory=list)  # (first attempt, final answer)
    composed: dict[str, float] = field(default_factory=dict)  # reply body -> its first attempt, answered or not

    async def customer(self, index: int) -> None:
        user = self.customers[index]
        for n in itertools.count(1):
            if self.stopping.is_set():
                return
            body = f"c{index:02d} m{n:04d}"
            await self.telegram.send(user, body)
            self.written[body] = time.monotonic()
            await asyncio.sleep(1.0)

    async def replier(self) -> None:
        """A reply every half second, each in its own task: replies written while the database is away
        wait out their 503s side by side, as several panel tabs or a client's queue would."""
        sending = []
        for n in itertools.count(1):
            if self.stopping.is_set():
                break
            sending.append(asyncio.create_task(self._reply(n)))
            await asyncio.sleep(0.5)
        await asyncio.gather(*sending)

    async def _reply(self, n: int) -> None:
        body = f"r{n:04d}."
        started = self.composed[body] = time.monotonic()
        self.replies.append((started, await self.operator.reply(self.tickets[n % len(self.tickets)], body)))

    async def run(self) -> None:
        await asyncio.gather(self.replier(), *(self.customer(i) for i in range(len(self.customers))))

    def accepted(self) -> list[str]:
        return [reply.body for _, reply in self.replies if reply.status == 201]

    def median_reply_seconds(self) -> float:
        took = sorted(reply.answered_at - started for started, reply in self.replies if reply.attempts == 1)
        return took[len(took) // 2] if took else 0.0

    def refused(self) -> list[Reply]:
        return [reply for _, reply in self.replies if reply.status != 201]


@asynccontextmanager
async def on_duty(desk: DeskProcess, telegram: TelegramServer, customers: int) -> AsyncIterator[tuple[Load, Socket]]:
    """The start of a drill under steady load: an admin, `customers` customers each handed to a human (a
    live ticket each), the admin signed in as the load's operator with the panel's socket open. Yields the
    load (not running yet) and the socket; closes both sessions after."""
    await create_admin(desk.env)
    users = [telegram.user(f"Customer{i}") for i in range(customers)]
    tickets = list(await asyncio.gather(*(hand_off(telegram, user) for user in users)))
    operator = Operator(desk)
    socket = Socket(desk, operator.http)
    try:
        await operator.login()
        await socket.open()
        yield Load(telegram, operator, users, tickets), socket
    finally:
        await socket.close()
        await operator.close()
