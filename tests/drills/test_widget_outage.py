"""The website chat through the real `desk run` while PostgreSQL stops for 6 seconds, under CPU load:
visitors keep writing and an operator keeps replying. Afterwards every visitor message the widget sent
is stored exactly once (frames sent while the database was away are refused with `retry`, or never
acknowledged, and sent again), every accepted operator reply reached its visitor's socket, none twice on
one connection, a visitor whose socket dropped during the outage got what it missed at its reconnect,
and the outbox is empty — without restarting the desk, which then exits 0 on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.botapi import TelegramServer
from tests.drills.customers import stored_bodies
from tests.drills.operator import Operator, Reply
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess, create_admin
from tests.drills.test_database_outage import outbox_busy
from tests.waiting import running

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SHOP = "http://shop.drill.test"
VISITORS = 4
OUTAGE = 6.0
LOAD_BEFORE = 2.0
LOAD_AFTER = 4.0
SETTLE_WITHIN = 60.0

_ids = itertools.count(1)


@dataclass
class Visitor:
    """The widget of one visitor, as widget.js behaves: keeps its token and the last message id it has,
    reconnects with `after` when the socket drops, and sends again every frame not acknowledged (a
    refusal with `retry: true` included) under the same client id."""

    desk: DeskProcess
    key: str
    name: str
    token: str = ""
    after: int = 0
    unacked: dict[str, dict[str, Any]] = field(default_factory=dict)
    connections: list[list[dict[str, Any]]] = field(default_factory=list)  # the frames of each connection
    acked: dict[str, str] = field(default_factory=dict)  # client id -> text of acknowledged messages
    answers: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _live: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _resends: set[asyncio.Task[None]] = field(default_factory=set)
    http: aiohttp.ClientSession = field(default_factory=aiohttp.ClientSession)

    async def open(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._live.wait(), 30)

    async def _run(self) -> None:
        while True:
            try:
                params = {"key": self.key, "token": self.token, "lang": "en", "after": str(self.after)}
                async with self.http.ws_connect(self.desk.url("/widget/ws"), params=params,
                                                headers={"Origin": SHOP}, heartbeat=5.0) as ws:
                    hello = await ws.receive_json(timeout=10)
                    assert hello["type"] == "hello", hello
                    self.token = hello["token"]
                    frames: list[dict[str, Any]] = []
                    self.connections.append(frames)
                    self._ws = ws
                    self._live.set()
                    for frame in list(self.unacked.values()):  # what was never acknowledged, again
                        await ws.send_json(frame)
                    async for message in ws:
                        if message.type != aiohttp.WSMsgType.TEXT:
                            break
                        await self._receive(ws, message.json(), frames)
            except (aiohttp.ClientError, TimeoutError, ValueError, AssertionError):
                pass
            self._ws = None
            await asyncio.sleep(0.3)

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any],
                       frames: list[dict[str, Any]]) -> None:
        frames.append(frame)
        kind = frame.get("type")
        if kind == "message":
            self.after = max(self.after, int(frame["id"]))
        elif kind == "ack":
            sent = self.unacked.pop(frame["client_id"], None)
            if sent is not None and sent["type"] == "message":
                self.acked[frame["client_id"]] = sent["text"]
        elif kind == "error" and frame.get("client_id") in self.unacked:
            if frame.get("retry"):
                asyncio.get_running_loop().call_later(1.0, self._resend, frame["client_id"])
            else:
                raise AssertionError(f"{self.name}: a frame was given up: {frame}")
        if kind == "answer":
            self.answers.put_nowait(frame)

    def _resend(self, client_id: str) -> None:
        ws, frame = self._ws, self.unacked.get(client_id)
        if ws is not None and not ws.closed and frame is not None:
            task = asyncio.ensure_future(ws.send_json(frame))
            self._resends.add(task)
            task.add_done_callback(self._resends.discard)

    async def send(self, frame: dict[str, Any]) -> None:
        frame = {**frame, "client_id": f"{self.name}-{next(_ids)}"}
        self.unacked[frame["client_id"]] = frame
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json(frame)

    async def answer(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.answers.get(), 30)

    async def drop(self) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()

    def messages(self) -> list[dict[str, Any]]:
        return [f for frames in self.connections for f in frames if f.get("type") == "message"]

    def twice_on_one_connection(self) -> list[int]:
        return [mid for frames in self.connections
                for mid, n in Counter(f["id"] for f in frames if f.get("type") == "message").items() if n > 1]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.http.close()


def buttons(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in answer.get("buttons", ()) for b in row]


async def hand_off(visitor: Visitor) -> int:
    """Greeting, a question, "talk to a human", the first topic: the new ticket's id (from its Close button)."""
    await visitor.send({"type": "start"})
    await visitor.answer()
    await visitor.send({"type": "message", "text": "my parcel has not arrived, I need a person"})
    for _ in range(6):
        answer = await visitor.answer()
        for button in buttons(answer):
            if button["action"][0] == "close" and len(button["action"]) == 2:
                return int(button["action"][1])
        choices = [b for b in buttons(answer) if "human" in b["label"].lower()] or buttons(answer)[:1]
        if choices:
            await visitor.send({"type": "action", "action": choices[0]["action"]})
    raise AssertionError(f"{visitor.name}: no ticket after the handoff")


async def shop_widget(operator: Operator) -> str:
    async with operator.http.post(operator.desk.url("/api/stores"), json={"name": "Drill shop"},
                                  headers={"X-CSRF-Token": operator.csrf}) as response:
        assert response.status == 201, await response.text()
        store = await response.json()
    async with operator.http.put(operator.desk.url(f"/api/stores/{store['id']}/widget"), json={"origins": [SHOP]},
                                 headers={"X-CSRF-Token": operator.csrf}) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["key"])


@dataclass
class WidgetLoad:
    operator: Operator
    visitors: list[Visitor]
    tickets: list[int]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    replies: list[tuple[int, Reply]] = field(default_factory=list)  # (visitor index, final answer)

    async def writer(self, index: int) -> None:
        for n in itertools.count(1):
            if self.stopping.is_set():
                return
            await self.visitors[index].send({"type": "message", "text": f"v{index} m{n:04d}"})
            await asyncio.sleep(0.7)

    async def replier(self) -> None:
        sending = []
        for n in itertools.count(1):
            if self.stopping.is_set():
                break
            index = n % len(self.visitors)
            sending.append(asyncio.create_task(self._reply(index, f"w{n:04d} to v{index}")))
            await asyncio.sleep(0.4)
        await asyncio.gather(*sending)

    async def _reply(self, index: int, body: str) -> None:
        self.replies.append((index, await self.operator.reply(self.tickets[index], body)))

    async def run(self) -> None:
        await asyncio.gather(self.replier(), *(self.writer(i) for i in range(len(self.visitors))))

    def written(self) -> list[str]:
        """The load's visitor messages the desk acknowledged (the handoff's question is a dialogue turn)."""
        return [text for v in self.visitors for text in v.acked.values() if text.startswith("v")]

    def accepted(self, index: int) -> list[str]:
        return [reply.body for i, reply in self.replies if i == index and reply.status == 201]


async def missing(load: WidgetLoad, dsn: str) -> dict[str, Any]:
    stored = await stored_bodies(dsn, "customer")
    gaps: dict[str, Any] = {
        "visitor frames never acknowledged": [c for v in load.visitors for c in v.unacked],
        "acknowledged visitor messages not stored once": [
            text for text in load.written() if stored.get(text) != 1],
        "accepted replies not on the visitor's socket": [
            body for i, v in enumerate(load.visitors)
            for body in set(load.accepted(i)) - {m["body"] for m in v.messages()}],
        "outbox rows pending or sending": await outbox_busy(dsn),
    }
    return {what: found for what, found in gaps.items() if found}


async def test_the_website_chat_loses_nothing_while_the_database_restarts(
    start_desk: Callable[[], DeskProcess], telegram: TelegramServer, drill_db: str,
    external_pg: ExternalPostgres, cpu_burner: object,
) -> None:
    desk = start_desk()
    await desk.wait_healthy()
    await create_admin(desk.env)
    operator = Operator(desk)
    visitors: list[Visitor] = []
    try:
        await operator.login()
        key = await shop_widget(operator)
        visitors = [Visitor(desk, key, f"visitor{i}") for i in range(VISITORS)]
        await asyncio.gather(*(v.open() for v in visitors))
        tickets = list(await asyncio.gather(*(hand_off(v) for v in visitors)))
        assert len(set(tickets)) == VISITORS
        load = WidgetLoad(operator, visitors, tickets)
        async with running(load.run()) as (load_task,):
            await asyncio.sleep(LOAD_BEFORE)
            await asyncio.to_thread(external_pg.stop)
            await visitors[0].drop()  # a phone loses its network during the outage: it reconnects with `after`
            await asyncio.sleep(OUTAGE)
            await asyncio.to_thread(external_pg.start)
            await asyncio.sleep(LOAD_AFTER)
            load.stopping.set()
            await asyncio.wait_for(load_task, 120)

        gaps: dict[str, Any] = {}

        async def settled() -> bool:
            nonlocal gaps
            gaps = await missing(load, drill_db)
            return not gaps

        try:
            await desk.wait_for(settled, "every widget message stored and every reply shown", SETTLE_WITHIN)
        except AssertionError as error:
            short = {what: found[:8] if isinstance(found, list) else found for what, found in gaps.items()}
            raise AssertionError(f"not settled {SETTLE_WITHIN} s after the load: {short}\n{error}") from None
        await asyncio.sleep(1.0)  # room for a late duplicate

        stored = await stored_bodies(drill_db, "customer")
        sent = load.written()
        replies = [body for i in range(VISITORS) for body in load.accepted(i)]
        print(f"\nwidget outage {OUTAGE:g} s: {len(sent)} visitor messages stored once, {len(replies)} replies "
              f"shown, reconnects {[len(v.connections) - 1 for v in visitors]}, "
              f"503s waited out by the operator {len(operator.refusals)}")
        assert all(stored.get(text) == 1 for text in sent)
        assert len(visitors[0].connections) >= 2, "the dropped socket came back"
        for visitor in visitors:
            assert visitor.twice_on_one_connection() == [], f"{visitor.name} got a message twice on one socket"
        assert await outbox_busy(drill_db) == []
        assert await desk.stop() == 0
    finally:
        for visitor in visitors:
            await visitor.close()
        await operator.close()
