"""The server: `/bot<token>/<method>` and `/file/bot<token>/<path>` over real HTTP on 127.0.0.1:0.

It keeps what Telegram would keep for one bot: the update queue (getUpdates or webhook), the chats
with their message ids, the files, the commands; records every call; and lets a test play the
users (messages, edits, button presses) and inject faults per method.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.botapi.errors import ApiError
from tests.botapi.methods import METHODS
from tests.botapi.objects import TgUser, bot_user, compact, now, photo_sizes

log = logging.getLogger(__name__)

# Parameters that are strings even when they look like numbers or JSON.
STRING_FIELDS = {
    "text", "caption", "parse_mode", "callback_query_id", "url", "secret_token", "file_id", "description",
    "short_description", "language_code", "emoji", "title", "name", "query", "action", "inline_message_id",
    "address", "phone_number", "first_name", "last_name", "vcard", "business_connection_id", "ip_address",
}
FILE_LIMIT = 20 * 1024 * 1024  # what a bot may download through getFile


@dataclass
class Upload:
    """A file the bot uploaded in a call."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One Bot API request as the server received it."""

    method: str
    params: dict[str, Any]
    files: dict[str, Upload] = field(default_factory=dict)
    status: int = 200
    result: Any = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons, flattened in reading order."""
        markup = self.params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    def button(self, text_part: str) -> dict[str, Any]:
        for button in self.buttons:
            if text_part.lower() in button["text"].lower():
                return button
        raise AssertionError(f"no button with {text_part!r} in {[b['text'] for b in self.buttons]}")

    @property
    def reply_to(self) -> int | None:
        reply = self.params.get("reply_parameters") or {}
        return reply.get("message_id") or self.params.get("reply_to_message_id")


@dataclass
class Fault:
    """Answer `method` (calls matching `match`) with an error or a delay, `times` times (None: always),
    and only until the monotonic time `until` if one is given (a time-bounded outage); `hits` counts
    the calls it answered."""

    method: str
    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    delay: float = 0.0
    times: int | None = 1
    match: Callable[[dict[str, Any]], bool] | None = None
    until: float | None = None
    hits: int = 0


@dataclass
class WebhookAttempt:
    update_id: int
    status: int | None
    error: str | None = None


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes | None
    size: int
    path: str


class TelegramServer:
    """One bot's Bot API. `await server.start()`; `server.base` is TELEGRAM_API_BASE."""

    def __init__(self, token: str = "123456789:TEST-token-for-desk") -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.updates: list[dict[str, Any]] = []  # pending: not yet confirmed
        self.webhook: dict[str, Any] | None = None
        self.webhook_attempts: list[WebhookAttempt] = []
        self.webhook_retry_delay = 0.05
        self.users: dict[int, TgUser] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.answered_callbacks: dict[str, dict[str, Any]] = {}
        self._next_update = itertools.count(1)
        self._next_user = itertools.count(700_000_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> TelegramServer:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle_method)
        app.router.add_get("/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, shutdown_timeout=0.5)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._http = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_loop())
        return self

    async def stop(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- what a test does as a Telegram user ----------------------------------------------
    def user(self, first_name: str = "Test", *, language_code: str | None = "en", last_name: str | None = None,
             username: str | None = None, user_id: int | None = None) -> TgUser:
        person = TgUser(user_id or next(self._next_user), first_name, last_name, username, language_code)
        self.users[person.id] = person
        return person

    async def send(self, user: TgUser, text: str | None = None, **fields: Any) -> dict[str, Any]:
        """The user sends a message; `fields` are Message fields (photo, document, caption, reply_to...)."""
        message = self._user_message(user, text, **fields)
        await self.push_update({"message": message})
        return message

    async def send_photo(self, user: TgUser, data: bytes, *, caption: str | None = None,
                         media_group_id: str | None = None, **fields: Any) -> dict[str, Any]:
        stored = self.add_file(data, "photo.jpg")
        return await self.send(user, caption=caption, media_group_id=media_group_id,
                               photo=photo_sizes(stored.file_id, stored.file_unique_id, stored.size), **fields)

    async def send_document(self, user: TgUser, data: bytes | None, file_name: str, mime_type: str, *,
                            caption: str | None = None, size: int | None = None,
                            media_group_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """`data=None, size=N` plays a file too big for a bot to download."""
        stored = self.add_file(data, file_name, size=size)
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": file_name,
                    "mime_type": mime_type, "file_size": stored.size}
        return await self.send(user, caption=caption, document=document, media_group_id=media_group_id, **fields)

    async def send_media(self, user: TgUser, kind: str, data: bytes, **extra: Any) -> dict[str, Any]:
        """voice, audio, video, video_note, animation, sticker: one file object of that kind."""
        caption = extra.pop("caption", None)
        stored = self.add_file(data, f"{kind}.bin")
        media = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.size}
        media.update(_MEDIA_DEFAULTS.get(kind, {}))
        media.update(extra)
        return await self.send(user, caption=caption, **{kind: media})

    async def send_album(self, user: TgUser, items: list[tuple[str, bytes]], caption: str | None = None,
                         ) -> list[dict[str, Any]]:
        """Several messages sharing a media_group_id, as Telegram delivers an album."""
        group = secrets.token_hex(8)
        sent = []
        for index, (kind, data) in enumerate(items):
            text_caption = caption if index == 0 else None
            if kind == "photo":
                sent.append(await self.send_photo(user, data, caption=text_caption, media_group_id=group))
            else:
                sent.append(await self.send_document(user, data, f"file{index}.pdf", "application/pdf",
                                                     caption=text_caption, media_group_id=group))
        return sent

    async def edit(self, user: TgUser, message: dict[str, Any], text: str) -> dict[str, Any]:
        edited = dict(message)
        key = "caption" if "caption" in message or "text" not in message else "text"
        edited[key] = text
        edited["edit_date"] = now()
        self.messages[(user.id, message["message_id"])] = edited
        await self.push_update({"edited_message": edited})
        return edited

    async def press(self, user: TgUser, message: dict[str, Any] | Call, data: str) -> str:
        """The user presses an inline button with `data` under a bot message (a dict or the Call that sent it)."""
        if isinstance(message, Call):
            message = message.result
        query_id = str(next(self._next_update) * 1000 + 7)
        query = {
            "id": query_id,
            "from": user.as_user(),
            "message": message,
            "chat_instance": str(user.id * 7),
            "data": data,
        }
        self.callback_queries[query_id] = query
        await self.push_update({"callback_query": query})
        return query_id

    async def push_update(self, body: dict[str, Any], update_id: int | None = None) -> int:
        """Queue a raw update; a given `update_id` lets a test deliver the same update twice."""
        update = {"update_id": update_id if update_id is not None else next(self._next_update), **body}
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()
        return update["update_id"]

    def add_file(self, data: bytes | None, name: str = "file.bin", *, size: int | None = None) -> StoredFile:
        unique = secrets.token_hex(6)
        file_id = f"F{unique}{secrets.token_hex(6)}"
        stored = StoredFile(file_id, unique, data, size if size is not None else len(data or b""),
                            f"documents/{unique}_{name}")
        self.files[file_id] = stored
        return stored

    def _user_message(self, user: TgUser, text: str | None, **fields: Any) -> dict[str, Any]:
        self.users.setdefault(user.id, user)
        reply_to = fields.pop("reply_to", None)
        message = compact({
            "message_id": self._new_message_id(user.id),
            "from": user.as_user(),
            "chat": user.as_chat(),
            "date": now(),
            "text": text,
            **fields,
        })
        if text and text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.messages[(user.id, message["message_id"])] = message
        return message

    def _new_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    # ---- faults and waiting ----------------------------------------------------------------
    def fail(self, method: str, status: int = 500, description: str | None = None, *, retry_after: int | None = None,
             times: int | None = 1, match: Callable[[dict[str, Any]], bool] | None = None,
             seconds: float | None = None) -> Fault:
        """`seconds=N`: every matching call fails for the next N seconds (then `times` defaults to None)."""
        if seconds is not None and times == 1:
            times = None
        defaults = {429: "Too Many Requests: retry after {n}", 403: "Forbidden: bot was blocked by the user",
                    400: "Bad Request", 500: "Internal Server Error", 502: "Bad Gateway"}
        text = description or defaults.get(status, "Error").format(n=retry_after)
        until = None if seconds is None else time.monotonic() + seconds
        fault = Fault(method, status, text, retry_after, 0.0, times, match, until)
        self.faults.append(fault)
        return fault

    def delay(self, method: str, seconds: float, *, times: int | None = 1,
              match: Callable[[dict[str, Any]], bool] | None = None) -> Fault:
        """Answer normally but only after `seconds` (longer than the client's timeout = a timeout)."""
        fault = Fault(method, 200, "", None, seconds, times, match)
        self.faults.append(fault)
        return fault

    def calls_of(self, method: str, *, ok_only: bool = True) -> list[Call]:
        """Finished calls of a method (only successful ones unless ok_only=False)."""
        return [c for c in self.calls if c.method == method and c.status and (c.ok or not ok_only)]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Every successful send* call to a chat, in order."""
        return [c for c in self.calls if c.ok and c.method.startswith("send") and c.chat_id == chat_id
                and c.method != "sendChatAction"]

    async def wait_for_call(self, method: str, predicate: Callable[[Call], bool] | None = None,
                            timeout: float = 5.0, *, since: int = 0, ok_only: bool = True) -> Call:
        """The first call (from index `since`) of `method` that satisfies `predicate`; waits for it."""

        def find() -> Call | None:
            for call in self.calls[since:]:
                if call.method != method or not call.status or (ok_only and not call.ok):
                    continue
                if predicate is None or predicate(call):
                    return call
            return None

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
            except TimeoutError:
                seen = [(c.method, c.status, c.text[:60]) for c in self.calls[since:]]
                raise AssertionError(f"no {method} call matched within {timeout}s; calls: {seen}") from None
        found = find()
        assert found is not None
        return found

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    def mark(self) -> int:
        """Index for `since=`: only calls after this point."""
        return len(self.calls)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- HTTP ------------------------------------------------------------------------------
    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params, files = await _read_params(request)
        return await self.execute(request.match_info["method"], params, files)

    async def execute(self, method_name: str, params: dict[str, Any], files: dict[str, Upload]) -> web.Response:
        """Runs one method. The call is recorded at once with status 0 (in flight: a long poll, a delay)."""
        call = Call(method_name, params, _resolve_attachments(params, files), status=0)
        self.calls.append(call)
        await self._notify()
        fault = self._take_fault(method_name, params)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        try:
            if fault is not None and fault.status != 200:
                raise ApiError(fault.status, fault.description, fault.retry_after)
            handler = METHODS.get(method_name.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            call.result = await handler(self, params, call.files)
        except ApiError as exc:
            call.status = exc.status
            await self._notify()
            return _error(exc.status, exc.description, exc.retry_after)
        call.status = 200
        await self._notify()
        return web.json_response({"ok": True, "result": call.result})

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.method.lower() != method.lower() or (fault.match and not fault.match(params)):
                continue
            if fault.until is not None and time.monotonic() >= fault.until:
                continue
            if fault.times is not None:
                if fault.times <= 0:
                    continue
                fault.times -= 1
            fault.hits += 1
            return fault
        return None

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path and stored.data is not None:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return _error(404, "Not Found")

    # ---- webhook delivery ------------------------------------------------------------------
    async def _webhook_loop(self) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self.webhook and self.updates))
                hook = dict(self.webhook or {})
                update = self.updates[0]
            delivered = await self._post_update(hook, update)
            if delivered:
                with contextlib.suppress(ValueError):
                    self.updates.remove(update)
                await self._notify()
            else:
                await asyncio.sleep(self.webhook_retry_delay)

    async def _post_update(self, hook: dict[str, Any], update: dict[str, Any]) -> bool:
        assert self._http is not None
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        try:
            async with self._http.post(hook["url"], data=json.dumps(update), headers=headers,
                                       timeout=aiohttp.ClientTimeout(total=hook.get("timeout", 30))) as response:
                body = await response.read()
                attempt = WebhookAttempt(update["update_id"], response.status)
                if response.status == 200:
                    await self._run_webhook_reply(response.headers.get("Content-Type", ""), body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            attempt = WebhookAttempt(update["update_id"], None, f"{type(exc).__name__}: {exc}")
        self.webhook_attempts.append(attempt)
        await self._notify()
        return attempt.status == 200

    async def _run_webhook_reply(self, content_type: str, body: bytes) -> None:
        """A webhook response may carry one method call, which Telegram executes."""
        if not body or not content_type.startswith("multipart/form-data"):
            return
        reader = aiohttp.MultipartReader({"Content-Type": content_type}, _BytesStream(body))
        params: dict[str, Any] = {}
        async for part in reader:
            assert isinstance(part, aiohttp.BodyPartReader)
            params[part.name or ""] = (await part.read()).decode()
        method = params.pop("method", None)
        if method:
            await self.execute(method, _decode_fields(params), {})

    async def webhook_attempts_for(self, update_id: int, count: int = 1, timeout: float = 5.0) -> list[WebhookAttempt]:
        """Wait until an update was POSTed `count` times; returns those attempts."""
        def found() -> list[WebhookAttempt]:
            return [a for a in self.webhook_attempts if a.update_id == update_id]

        await self.wait_until(lambda: len(found()) >= count, timeout)
        return found()

    async def settled(self, timeout: float = 5.0) -> None:
        """Until every update so far was confirmed: the bot committed it (offset moved past it, or 200)."""
        await self.wait_until(lambda: not self.updates, timeout)

    async def wait_confirmed(self, update_id: int, timeout: float = 5.0) -> None:
        """Until the bot confirmed an update (offset moved past it, or the webhook answered 200)."""
        await self.wait_until(lambda: all(u["update_id"] != update_id for u in self.updates), timeout)


class _BytesStream:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    async def readline(self) -> bytes:
        end = self._data.find(b"\n", self._pos)
        end = len(self._data) if end < 0 else end + 1
        line, self._pos = self._data[self._pos:end], end
        return line

    async def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        chunk, self._pos = self._data[self._pos:end], min(end, len(self._data))
        return chunk

    def at_eof(self) -> bool:
        return self._pos >= len(self._data)

    def unread_data(self, data: bytes) -> None:
        self._pos -= len(data)


_MEDIA_DEFAULTS: dict[str, dict[str, Any]] = {
    "voice": {"duration": 3, "mime_type": "audio/ogg"},
    "audio": {"duration": 120, "mime_type": "audio/mpeg", "title": "Song", "file_name": "song.mp3"},
    "video": {"duration": 5, "width": 640, "height": 480, "mime_type": "video/mp4", "file_name": "clip.mp4"},
    "video_note": {"duration": 5, "length": 240},
    "animation": {"duration": 2, "width": 320, "height": 240, "mime_type": "video/mp4"},
    "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False,
                "emoji": "😀"},
}


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            raw.update(await request.json())
            return raw, files
        if content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, aiohttp.BodyPartReader)
                name = part.name or ""
                if part.filename is not None:
                    data = await part.read()
                    files[name] = Upload(name, part.filename,
                                         part.headers.get("Content-Type", "application/octet-stream"), bytes(data))
                else:
                    raw[name] = (await part.read()).decode()
        else:
            raw.update(await request.post())
    return _decode_fields(raw), files


def _decode_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """Form values arrive as strings; numbers, booleans and JSON objects are decoded back."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and key not in STRING_FIELDS:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        else:
            params[key] = value
    return params


def _resolve_attachments(params: dict[str, Any], files: dict[str, Upload]) -> dict[str, Upload]:
    """`photo=attach://key` names an uploaded part; files are keyed by parameter (and by attach key)."""
    resolved = dict(files)
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            resolved[key] = files[value[9:]]
    return resolved


__all__ = ["FILE_LIMIT", "Call", "Fault", "StoredFile", "TelegramServer", "Upload", "WebhookAttempt", "bot_user"]
