"""The sandbox's Bot API where it goes beyond the test fake: flood limits (429 + retry_after, as
Telegram answers), upload sizes, entities of HTML texts, reply keyboards, and the change events the
/sandbox page listens to."""

from __future__ import annotations

from typing import Any

import aiohttp

from web.sandbox.limits import PHOTO_UPLOAD_LIMIT, RateLimits
from web.sandbox.server import TelegramServer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_chat_gets_a_short_burst_then_one_per_second_and_30_overall() -> None:
    clock = Clock()
    limits = RateLimits(clock=clock)
    assert [limits.take(1) for _ in range(4)] == [None, None, None, 1]
    clock.now += 1.0
    assert limits.take(1) is None and limits.take(1) == 1
    others = [limits.take(chat) for chat in range(100, 140)]
    assert others.count(None) == 29 and set(others) == {None, 1}  # 30 overall a second: one went to chat 1


async def _call(server: TelegramServer, method: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(f"{server.base}/bot{server.token}/{method}",
                                                           json=fields) as response:
        return response.status, await response.json()


async def test_over_the_limit_a_send_is_refused_with_retry_after_as_telegram_does() -> None:
    server = TelegramServer(limits=RateLimits())
    await server.start()
    try:
        anna = server.user("Anna")
        answers = [await _call(server, "sendMessage", chat_id=anna.id, text=f"m{n}") for n in range(4)]
        assert [status for status, _ in answers] == [200, 200, 200, 429]
        assert answers[-1][1] == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                  "parameters": {"retry_after": 1}}
        status, _ = await _call(server, "sendChatAction", chat_id=anna.id, action="typing")
        assert status == 200, "chat actions are not messages"
    finally:
        await server.stop()


async def test_html_becomes_entities_keyboards_are_kept_and_every_change_is_announced() -> None:
    server = TelegramServer()
    events: list[dict[str, Any]] = []
    server.listeners.append(events.append)
    await server.start()
    try:
        anna = server.user("Anna")
        status, sent = await _call(server, "sendMessage", chat_id=anna.id, parse_mode="HTML",
                                   text='Hi <b>Anna</b> 😀 <a href="https://example.com">link</a>',
                                   reply_markup={"keyboard": [[{"text": "Share", "request_contact": True}]]})
        assert status == 200
        message = sent["result"]
        assert message["text"] == "Hi Anna 😀 link"
        assert message["entities"] == [{"type": "bold", "offset": 3, "length": 4},
                                       {"type": "text_link", "offset": 11, "length": 4, "url": "https://example.com"}]
        assert server.keyboards[anna.id]["keyboard"][0][0]["request_contact"] is True
        await _call(server, "editMessageText", chat_id=anna.id, message_id=message["message_id"], text="Bye")
        await _call(server, "deleteMessage", chat_id=anna.id, message_id=message["message_id"])
        await _call(server, "sendMessage", chat_id=anna.id, text="x", reply_markup={"remove_keyboard": True})
        assert [e["type"] for e in events] == ["message", "keyboard", "edited", "deleted", "message", "keyboard"]
        assert events[-1]["keyboard"] is None and anna.id not in server.keyboards
    finally:
        await server.stop()


async def test_a_photo_over_10_mb_is_refused_as_telegram_refuses_it() -> None:
    server = TelegramServer()
    await server.start()
    try:
        anna = server.user("Anna")
        form = aiohttp.FormData()
        form.add_field("chat_id", str(anna.id))
        form.add_field("photo", b"\xff" * (PHOTO_UPLOAD_LIMIT + 1), filename="big.jpg", content_type="image/jpeg")
        async with aiohttp.ClientSession() as http, http.post(f"{server.base}/bot{server.token}/sendPhoto",
                                                               data=form) as response:
            assert response.status == 413
    finally:
        await server.stop()
