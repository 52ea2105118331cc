"""End to end: a customer's Telegram update POSTed to the bot's webhook -> stored -> event ->
the operator's panel socket. Updates arrive at a steady rate; the figure is per update.

The split shows where the time goes, per update: POST -> the panel's listener has the NOTIFY of the
update's transaction (the bot's handling and commit), NOTIFY -> the event stream has read it and the
hub has written it (the live path in the panel), hub -> the operator's socket has read it."""

from __future__ import annotations

import asyncio
import bisect
import time
from pathlib import Path
from typing import Any

import aiohttp

from core import events
from core.heap import freeze_startup_heap
from tests.botapi.running import WEBHOOK_SECRET, start_desk_bot
from tests.botapi.server import TelegramServer
from tests.web.harness import login, make_operator, start_panel


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def open_ticket(telegram: TelegramServer, user: Any) -> None:
    mark = telegram.mark()
    await telegram.send(user, "/human")
    topics = await telegram.wait_for_call("sendMessage", lambda c: bool(c.buttons), since=mark)
    await telegram.press(user, topics, topics.button("Something else")["callback_data"])
    await telegram.wait_for_call("sendMessage", lambda c: "is open" in c.text, since=mark, timeout=10)


def split(posted_at: dict[str, float], notified: list[tuple[int, float]],
          handed: dict[str, tuple[int, float]], read_at: dict[str, float]) -> None:
    ids = [event_id for event_id, _ in notified]  # growing: ids follow commit order
    parts: dict[str, list[float]] = {"POST -> NOTIFY (bot handles and commits)": [],
                                     "NOTIFY -> hub wrote (stream read + fan-out)": [],
                                     "hub wrote -> socket read": []}
    for body, posted in posted_at.items():
        event_id, wrote = handed[body]
        _, notify = notified[bisect.bisect_left(ids, event_id)]
        for values, value in zip(parts.values(), (notify - posted, wrote - notify, read_at[body] - wrote),
                                 strict=True):
            values.append(value)
    for name, values in parts.items():
        print(f"  {name:<44} p50 {pct(values, 0.5):7.1f} ms  p99 {pct(values, 0.99):7.1f} ms  "
              f"max {max(values) * 1000:7.1f} ms")


async def run_e2e(url: str, data_dir: Path, *, rate: float, seconds: float, customers: int = 10) -> None:
    telegram = TelegramServer()
    await telegram.start()
    bot = await start_desk_bot(telegram, url, data_dir / "bot", mode="webhook", customer_rate_per_minute=100_000)
    panel = await start_panel(url, data_dir / "panel")
    freeze_startup_heap()  # as `desk run` does once started
    try:
        users = [telegram.user(f"Customer{n}") for n in range(customers)]
        for user in users:
            await open_ticket(telegram, user)
        await make_operator(panel.desk.sessions, "e2e@example.com")
        operator = panel.client()
        await login(panel, operator, "e2e@example.com")
        ws = await operator.ws_connect(panel.url("/ws"), headers={"Origin": panel.origin})
        await ws.receive_json()
        await asyncio.sleep(0.2)
        notified: list[tuple[int, float]] = []  # (highest id of a committed transaction, when NOTIFY came)
        handed: dict[str, tuple[int, float]] = {}  # body -> (event id, when the hub had written it)

        def on_notify(payload: str) -> None:
            notified.append((int(payload), time.perf_counter()))

        async def after_hub(batch: list[Any]) -> None:  # subscribed after the hub: runs once it wrote
            now = time.perf_counter()
            for event in batch:
                if event.type == "message.created":
                    handed[event.data.get("body", "")] = (event.id, now)

        panel.desk.listener.on(events.CHANNEL, on_notify)
        panel.desk.stream.subscribe(after_hub)
        sent_at: dict[str, float] = {}
        posted_at: dict[str, float] = {}
        read_at: dict[str, float] = {}
        latencies: list[float] = []
        webhook_answers: list[float] = []
        total = int(rate * seconds)
        done = asyncio.Event()

        async def read() -> None:
            while len(latencies) < total:
                frame = await ws.receive_json()
                if frame.get("type") == "message.created" and frame["data"]["body"] in sent_at:
                    read_at[frame["data"]["body"]] = now = time.perf_counter()
                    latencies.append(now - sent_at.pop(frame["data"]["body"]))
            done.set()

        reader = asyncio.ensure_future(read())
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}
        assert bot.webhook_url is not None
        async with aiohttp.ClientSession() as http:

            async def post(n: int) -> None:
                user = users[n % len(users)]
                text = f"bench message {n}"
                update = {"update_id": 10_000_000 + n, "message": telegram._user_message(user, text)}
                sent_at[text] = posted_at[text] = posted = time.perf_counter()
                async with http.post(bot.webhook_url, json=update, headers=headers) as response:
                    assert response.status == 200, await response.text()
                webhook_answers.append(time.perf_counter() - posted)

            started = time.perf_counter()
            posts = []
            for n in range(total):
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                posts.append(asyncio.ensure_future(post(n)))
            await asyncio.gather(*posts)
            await asyncio.wait_for(done.wait(), 60)
        reader.cancel()
        await ws.close()
        print(f"end to end, webhook update -> operator socket, {rate:g} updates/s from {customers} customers "
              f"for {seconds:g} s "
              f"({len(latencies)} updates): p50 {pct(latencies, 0.5):.1f} ms  p99 {pct(latencies, 0.99):.1f} ms  "
              f"max {max(latencies) * 1000:.1f} ms; the webhook's own answer (update stored and handled): "
              f"p50 {pct(webhook_answers, 0.5):.1f} ms  p99 {pct(webhook_answers, 0.99):.1f} ms")
        split(posted_at, notified, handed, read_at)
    finally:
        await panel.close()
        await bot.stop()
        await telegram.stop()
