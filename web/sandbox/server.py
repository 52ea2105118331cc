"""A Bot-API-compatible server: `/bot<token>/<method>` and `/file/bot<token>/<path>` over real HTTP.

It keeps what Telegram would keep for one bot: the update queue (getUpdates or webhook), the chats
with their message ids, the files, the commands; records every call; and lets its users (a test, or
staff in the /sandbox page) play Telegram users (messages, edits, button presses). Tests inject
faults per method. Two ways to run it: `await server.start()` on its own loopback port (the test
suite), or `server.mount(app, "/sandbox")` inside the desk's own web app (the product's sandbox,
`web.sandbox.setup`). The bot only ever talks to it over HTTP, like to api.telegram.org.

Telegram's limits hold here: text and caption lengths, upload sizes, and (with `limits`, on in the
product, off in the test fixture unless a test turns them on) 1 message/s per chat, 30/s overall.
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
from typing import Any, cast

import aiohttp
from aiohttp import web

from web.sandbox.errors import ApiError
from web.sandbox.limits import RateLimits
from web.sandbox.methods import METHODS
from web.sandbox.objects import TgGroup, TgUser, bot_user, compact, now, photo_sizes

log = logging.getLogger(__name__)

# Parameters that are strings even when they look like numbers or JSON.
STRING_FIELDS = {
    "text", "caption", "parse_mode", "callback_query_id", "url", "secret_token", "file_id", "description",
    "short_description", "language_code", "emoji", "title", "name", "query", "action", "inline_message_id",
    "address", "phone_number", "first_name", "last_name", "vcard", "business_connection_id", "ip_address",
    "icon_custom_emoji_id",
}
FILE_LIMIT = 20 * 1024 * 1024  # what a bot may download through getFile
# Methods that put a message in a chat: what Telegram's flood limits count.
SENDING = {"copymessage", "forwardmessage", "sendmediagroup", "editmessagetext"}  # Telegram counts edits too
Listener = Callable[[dict[str, Any]], None]


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

    def __init__(self, token: str = "123456789:TEST-token-for-desk", *,  # noqa: S107 (the test suite's fake)
                 limits: RateLimits | None = None,
                 username: str = "desk_test_bot", bot_name: str = "Desk Test Bot", first_update: int = 1,
                 first_user: int = 700_000_001) -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.username = username
        self.bot_name = bot_name
        self.limits = limits  # None: no flood limits (tests that send fast); RateLimits(): Telegram's
        self.keyboards: dict[int, dict[str, Any]] = {}  # the reply keyboard each chat's client shows
        self.listeners: list[Listener] = []  # told of every message, edit, deletion, toast (the sandbox page)
        self.prefix = ""
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.updates: list[dict[str, Any]] = []  # pending: not yet confirmed
        self.webhook: dict[str, Any] | None = None
        self.webhook_attempts: list[WebhookAttempt] = []
        self.webhook_retry_delay = 0.05
        self.users: dict[int, TgUser] = {}
        self.groups: dict[int, TgGroup] = {}  # supergroups the bot is in (negative ids)
        self.reactions: dict[tuple[int, int], list[dict[str, Any]]] = {}  # (chat, message) -> the bot's reaction
        # Asked about a chat id the server does not know before it says "chat not found" (the product's
        # sandbox looks in its saved state, where `desk demo` may have added people meanwhile).
        self.find_user: Callable[[int], TgUser | None] | None = None
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.answered_callbacks: dict[str, dict[str, Any]] = {}
        self._next_update = itertools.count(first_update)
        self._next_user = itertools.count(first_user)
        self._next_group = itertools.count(1_000_000_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------------
    def bot_user(self) -> dict[str, Any]:
        return bot_user(self.bot_id, self.username, self.bot_name)

    def add_routes(self, app: web.Application, prefix: str = "") -> None:
        self.prefix = prefix
        app.router.add_post(prefix + "/bot{token}/{method}", self._handle_method)
        app.router.add_get(prefix + "/bot{token}/{method}", self._handle_method)
        app.router.add_get(prefix + "/file/bot{token}/{path:.+}", self._handle_file)

    def mount(self, app: web.Application, prefix: str) -> None:
        """Serve the Bot API under `prefix` of another app (the desk's own); runs with that app."""
        self.add_routes(app, prefix)

        async def running(app: web.Application) -> Any:
            self._http = aiohttp.ClientSession()
            self._webhook_task = asyncio.create_task(self._webhook_loop())
            yield
            await self.stop()

        app.cleanup_ctx.append(running)

    async def start(self) -> TelegramServer:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, shutdown_timeout=0.5)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)  # a TCP site listens on a loop server
        self.port = server.sockets[0].getsockname()[1]
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
            self._runner = None

    @property
    def base(self) -> str:
        """TELEGRAM_API_BASE for a bot on this machine (a mounted server: once its app's port is set)."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    # ---- what a test does as a Telegram user ----------------------------------------------
    def user(self, first_name: str = "Test", *, language_code: str | None = "en", last_name: str | None = None,
             username: str | None = None, user_id: int | None = None) -> TgUser:
        person = TgUser(user_id or next(self._next_user), first_name, last_name, username, language_code)
        self.users[person.id] = person
        return person

    def group(self, title: str = "Staff", *, forum: bool = True, can_manage_topics: bool = True,
              bot_status: str = "administrator") -> TgGroup:
        """A supergroup with the bot in it (a forum by default, the bot an admin that may manage topics)."""
        group = TgGroup(-next(self._next_group), title, forum, bot_status, {"can_manage_topics": can_manage_topics})
        self.groups[group.id] = group
        return group

    def topic_of(self, group: TgGroup, thread_id: int) -> dict[str, Any] | None:
        return group.topics.get(thread_id)

    def delete_topic(self, group: TgGroup, thread_id: int) -> None:
        """Staff delete a topic: it and its messages are gone; sends into it fail (thread not found)."""
        group.topics[thread_id] = {**group.topics.get(thread_id, {}), "deleted": True}
        gone = [k for k, m in self.messages.items() if k[0] == group.id and m.get("message_thread_id") == thread_id]
        for key in gone:
            del self.messages[key]

    def in_topic(self, group: TgGroup, thread_id: int) -> list[Call]:
        """Every successful send into one topic, in order."""
        return [c for c in self.sent_to(group.id) if c.params.get("message_thread_id") == thread_id]

    async def post(self, user: TgUser, group: TgGroup, text: str | None = None, *, thread_id: int | None = None,
                   **fields: Any) -> dict[str, Any]:
        """The user writes in a group (into a forum topic with `thread_id`)."""
        if thread_id is not None:
            fields.update(message_thread_id=thread_id, is_topic_message=True)
        message = self._user_message(user, text, chat=group.as_chat(), **fields)
        self._emit({"type": "message", "chat_id": group.id, "message": message})
        await self.push_update({"message": message})
        return message

    async def send(self, user: TgUser, text: str | None = None, **fields: Any) -> dict[str, Any]:
        """The user sends a message; `fields` are Message fields (photo, document, caption, reply_to...)."""
        message = self._user_message(user, text, **fields)
        self._emit({"type": "message", "chat_id": user.id, "message": message})
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
        fields: dict[str, Any] = {kind: media}
        return await self.send(user, caption=caption, **fields)

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
        self.messages[(message["chat"]["id"], message["message_id"])] = edited
        self._emit({"type": "edited", "chat_id": message["chat"]["id"], "message": edited})
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
        chat = fields.pop("chat", None) or user.as_chat()
        message = compact({
            "message_id": self._new_message_id(chat["id"]),
            "from": user.as_user(),
            "chat": chat,
            "date": now(),
            "text": text,
            **fields,
        })
        if text and text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _emit(self, event: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # one broken watcher must not fail the bot's call
                log.exception("sandbox listener failed", extra={"event": event.get("type")})

    def _announce(self, method: str, params: dict[str, Any], result: Any) -> None:
        """What the user's Telegram client would show after a successful call."""
        name = method.lower()
        if name == "deletemessage":
            self._emit({"type": "deleted", "chat_id": int(params["chat_id"]), "message_id": int(params["message_id"])})
        elif name == "answercallbackquery":
            query = self.callback_queries.get(str(params.get("callback_query_id")), {})
            if params.get("text") and query:
                self._emit({"type": "toast", "chat_id": query["from"]["id"], "text": str(params["text"]),
                            "alert": bool(params.get("show_alert"))})
        elif name == "copymessage" and isinstance(result, dict):
            chat_id = int(params["chat_id"])
            copied = self.messages.get((chat_id, result["message_id"]))
            if copied is not None:
                self._emit({"type": "message", "chat_id": chat_id, "message": copied})
        else:
            for message in result if isinstance(result, list) else [result]:
                if isinstance(message, dict) and "message_id" in message and "chat" in message:
                    kind = "edited" if name.startswith("edit") else "message"
                    self._emit({"type": kind, "chat_id": message["chat"]["id"], "message": message})
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" not in params["reply_markup"]:
            target = params.get("chat_id")
            if isinstance(target, int):
                self._emit({"type": "keyboard", "chat_id": target, "keyboard": self.keyboards.get(target)})

    def _flood_check(self, method: str, params: dict[str, Any]) -> None:
        name = method.lower()
        if self.limits is None or not (name in SENDING or (name.startswith("send") and name != "sendchataction")):
            return
        try:
            chat_id = int(params.get("chat_id") or 0)
        except (TypeError, ValueError):
            return  # the method itself says what is wrong with it
        retry_after = self.limits.take(chat_id)
        if retry_after is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

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
            self._flood_check(method_name, params)
            call.result = await handler(self, params, call.files)
        except ApiError as exc:
            call.status = exc.status
            await self._notify()
            return _error(exc.status, exc.description, exc.retry_after)
        call.status = 200
        self._announce(method_name, params, call.result)
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
        # A stand-in for the StreamReader: it has the readline() and read() the reader uses for a reply's parts.
        stream = cast(aiohttp.StreamReader, _BytesStream(body))
        reader = aiohttp.MultipartReader({"Content-Type": content_type}, stream)
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
    if request.method == "POST" and request.body_exists:  # a middleware may have read (and cached) it
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


__all__ = ["FILE_LIMIT", "Call", "Fault", "Listener", "StoredFile", "TelegramServer", "TgGroup", "Upload",
           "WebhookAttempt", "bot_user"]
