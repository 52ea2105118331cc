"""The product's sandbox: the Bot API server mounted in the desk's own web app, and the staff-facing
side where admins and operators play Telegram users (the /sandbox page, its JSON API and socket).

Mounted by `web.app.create_app` only when the settings say the sandbox is on (`core.settings.sandboxed`):
- `/sandbox/bot<token>/<method>`, `/sandbox/file/bot<token>/<path>`: the Bot API the desk's own bot
  polls (its token authenticates it, as on api.telegram.org);
- `/sandbox`: the page; `/sandbox/ws`: live bot messages, edits, deletions, toasts (same-origin only);
- `/api/sandbox/...`: create users, send as them, edit, reply, press buttons, share contact/location.
Staff only (admin, operator): a partner account cannot speak as made-up customers.

The users and the id counters outlive a restart in $DESK_DATA_DIR/sandbox.json, so a sandbox user keeps
being the same Telegram account (the same contact in the desk) and update/message ids never repeat;
the chat history itself is in memory (it is in the desk's tickets anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from pathlib import Path
from typing import Any, Literal

from aiohttp import BodyPartReader, WSMsgType, web
from pydantic import Field

from core.auth.permissions import is_staff
from core.context import Desk
from core.sandbox_users import FIRST_USER, SandboxUser, read_state, state_path, state_with, users_of, write_state
from core.settings import SANDBOX_BOT_USERNAME, SANDBOX_PATH
from web.api.schemas import Strict
from web.errors import ApiError
from web.i18n import field_text
from web.input_guard import bad_text
from web.keys import ACTOR
from web.pages import sandbox_page
from web.sandbox.limits import CAPTION_LIMIT, RateLimits
from web.sandbox.objects import TgUser, photo_sizes
from web.sandbox.server import TelegramServer
from web.security import foreign_origin

log = logging.getLogger(__name__)

USER_TEXT_LIMIT = 4096  # what a Telegram client lets a person send in one message
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}


class UserIn(Strict):
    first_name: str = Field(min_length=1, max_length=64)
    language: Literal["en", "ru"] = "en"
    username: str | None = Field(default=None, min_length=5, max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9_]+$")


class TextIn(Strict):
    text: str = Field(min_length=1, max_length=USER_TEXT_LIMIT)
    reply_to: int | None = Field(default=None, ge=1)


class EditIn(Strict):
    text: str = Field(min_length=1, max_length=USER_TEXT_LIMIT)


class PressIn(Strict):
    message_id: int = Field(ge=1)
    data: str = Field(min_length=1, max_length=64)


class LocationIn(Strict):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class ContactIn(Strict):
    phone_number: str = Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()-]+$")


class Sandbox:
    """The server plus what the page needs: persisted users, open sockets."""

    def __init__(self, server: TelegramServer, state_path: Path) -> None:
        self.server = server
        self.state_path = state_path
        self.sockets: set[web.WebSocketResponse] = set()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)
        server.listeners.append(self._on_event)
        server.find_user = self.saved_user

    @classmethod
    def create(cls, desk: Desk) -> Sandbox:
        settings = desk.settings
        token = settings.telegram_bot_token
        assert token is not None
        path = state_path(settings.desk_data_dir)
        state = read_state(path)
        # Ids that never repeat across restarts: the desk remembers processed update ids and message ids.
        first_update = max(int(state.get("next_update", 1)), int(time.time() * 1000))
        server = TelegramServer(token.get_secret_value(), limits=RateLimits(
            per_chat=settings.telegram_rate_per_chat, overall=settings.telegram_rate_global),
            username=settings.telegram_bot_username or SANDBOX_BOT_USERNAME, bot_name="Desk (sandbox)",
            first_update=first_update, first_user=int(state.get("next_user", FIRST_USER)))
        sandbox = cls(server, path)
        sandbox.adopt(users_of(state))
        for chat, next_id in dict(state.get("message_ids", {})).items():
            server._message_ids[int(chat)] = itertools.count(int(next_id))
        return sandbox

    def adopt(self, users: list[SandboxUser]) -> None:
        """Users saved by someone else (`desk demo` while the desk runs) join the server's."""
        for saved in users:
            if saved.id not in self.server.users:
                self.server.users[saved.id] = TgUser(saved.id, saved.first_name, None, saved.username,
                                                     saved.language_code)

    def saved_user(self, user_id: int) -> TgUser | None:
        """A user saved to the file since the start (the bot writes to someone `desk demo` added)."""
        self.adopt(users_of(read_state(self.state_path)))
        return self.server.users.get(user_id)

    def save(self) -> None:
        """Users and counters to disk (small; written on every change that matters). Users another
        process added to the file since (`desk demo`) are kept."""
        mine = [SandboxUser(u.id, u.first_name, u.username, u.language_code) for u in self.server.users.values()]
        state = state_with({
            "users": [],
            "next_user": max([FIRST_USER, *(u.id + 1 for u in mine if u.id >= FIRST_USER)]),
            "message_ids": {str(chat): _peek(counter) for chat, counter in self.server._message_ids.items()},
        }, [*mine, *users_of(read_state(self.state_path))])
        try:
            write_state(self.state_path, state)
        except OSError as exc:  # the sandbox still works; only a restart forgets its users
            log.warning("sandbox state not saved", extra={"path": str(self.state_path), "error": str(exc)})

    def user(self, user_id: int) -> TgUser:
        found = self.server.users.get(user_id)
        if found is None:
            raise ApiError(404, "not_found")
        return found

    def chat(self, user_id: int) -> list[dict[str, Any]]:
        return [message for (chat, _), message in sorted(self.server.messages.items()) if chat == user_id]

    # ---- live ------------------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "message":
            self.save()  # message ids moved on
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(event)

    async def fan_out(self) -> None:
        while True:
            event = await self._queue.get()
            frame = json.dumps(event)
            for ws in list(self.sockets):
                with contextlib.suppress(Exception):
                    await ws.send_str(frame)


SANDBOX: web.AppKey[Sandbox] = web.AppKey("sandbox")


def _peek(counter: itertools.count[int]) -> int:
    """The next value of an itertools.count without taking it (its repr is `count(n)`)."""
    return int(repr(counter)[6:-1])


def setup(app: web.Application, desk: Desk) -> Sandbox:
    sandbox = Sandbox.create(desk)
    app[SANDBOX] = sandbox
    sandbox.server.mount(app, SANDBOX_PATH)
    router = app.router
    router.add_get(SANDBOX_PATH, sandbox_page)
    router.add_get(SANDBOX_PATH + "/ws", socket)
    router.add_get("/api/sandbox/users", list_users)
    router.add_post("/api/sandbox/users", create_user)
    router.add_get("/api/sandbox/users/{user_id}/chat", chat)
    router.add_post("/api/sandbox/users/{user_id}/messages", send_text)
    router.add_patch("/api/sandbox/users/{user_id}/messages/{message_id}", edit_text)
    router.add_post("/api/sandbox/users/{user_id}/files", send_file)
    router.add_post("/api/sandbox/users/{user_id}/press", press)
    router.add_post("/api/sandbox/users/{user_id}/contact", share_contact)
    router.add_post("/api/sandbox/users/{user_id}/location", share_location)
    router.add_get("/api/sandbox/files/{file}", download)

    async def fan_out(app: web.Application) -> Any:
        task = asyncio.ensure_future(sandbox.fan_out())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for ws in list(sandbox.sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"server shutdown")

    app.cleanup_ctx.append(fan_out)
    return sandbox


# ---- views -------------------------------------------------------------------------------------
def _staff_only(request: web.Request) -> None:
    actor = request.get(ACTOR)
    if actor is None:
        raise ApiError(401, "unauthorized")
    if not is_staff(actor.operator):
        raise ApiError(403, "not_allowed")


async def _body(request: web.Request, model: type[Strict]) -> Any:
    try:
        data = await request.json()
    except ValueError:
        raise ApiError(400, "bad_json") from None
    return model.model_validate(data)


def _user_of(request: web.Request) -> TgUser:
    _staff_only(request)
    return request.app[SANDBOX].user(int(request.match_info["user_id"]))


def _user_out(user: TgUser, sandbox: Sandbox) -> dict[str, Any]:
    return {"id": user.id, "first_name": user.first_name, "username": user.username,
            "language": user.language_code, "keyboard": sandbox.server.keyboards.get(user.id)}


async def list_users(request: web.Request) -> web.Response:
    _staff_only(request)
    sandbox = request.app[SANDBOX]
    sandbox.adopt(users_of(read_state(sandbox.state_path)))  # small file; `desk demo` may have added people
    return web.json_response({"users": [_user_out(u, sandbox) for u in sandbox.server.users.values()],
                              "bot": sandbox.server.username})


async def create_user(request: web.Request) -> web.Response:
    _staff_only(request)
    body = await _body(request, UserIn)
    sandbox = request.app[SANDBOX]
    user = sandbox.server.user(body.first_name.strip() or "User", language_code=body.language,
                               username=body.username)
    sandbox.save()
    actor = request[ACTOR]
    log.info("sandbox user created",
             extra={"sandbox_user": user.id, "operator_id": actor.operator.id if actor else None})
    return web.json_response(_user_out(user, sandbox), status=201)


async def chat(request: web.Request) -> web.Response:
    user = _user_of(request)
    sandbox = request.app[SANDBOX]
    return web.json_response({"user": _user_out(user, sandbox), "messages": sandbox.chat(user.id)})


def _replied(sandbox: Sandbox, user: TgUser, message_id: int | None) -> dict[str, Any] | None:
    if message_id is None:
        return None
    found = sandbox.server.messages.get((user.id, message_id))
    if found is None:
        raise ApiError(404, "not_found")
    return {k: v for k, v in found.items() if k != "reply_to_message"}


async def send_text(request: web.Request) -> web.Response:
    user = _user_of(request)
    body = await _body(request, TextIn)
    sandbox = request.app[SANDBOX]
    message = await sandbox.server.send(user, body.text, reply_to=_replied(sandbox, user, body.reply_to))
    return web.json_response(message, status=201)


async def edit_text(request: web.Request) -> web.Response:
    user = _user_of(request)
    body = await _body(request, EditIn)
    sandbox = request.app[SANDBOX]
    message = sandbox.server.messages.get((user.id, int(request.match_info["message_id"])))
    if message is None or message.get("from", {}).get("id") != user.id:
        raise ApiError(404, "not_found")  # only one's own messages can be edited, as in Telegram
    if "text" not in message:
        raise ApiError(422, "invalid_input", fields={"text": field_text(request, "invalid")})
    return web.json_response(await sandbox.server.edit(user, message, body.text))


async def send_file(request: web.Request) -> web.Response:
    """multipart: `file`, optional `caption`, optional `as_photo=1` (an image sent as a photo)."""
    user = _user_of(request)
    sandbox = request.app[SANDBOX]
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "unsupported_type")
    fields: dict[str, str] = {}
    upload: tuple[str, str, bytes] | None = None
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename is not None and part.name == "file":
            data = bytes(await part.read())
            upload = (part.filename, part.headers.get("Content-Type", "application/octet-stream"), data)
        elif part.name in ("caption", "as_photo"):
            fields[part.name] = bytes(await part.read()).decode("utf-8", "replace")
    if upload is None or not upload[2]:
        raise ApiError(422, "invalid_input", fields={"file": field_text(request, "missing")})
    caption = fields.get("caption") or None
    if caption is not None and len(caption) > CAPTION_LIMIT:
        raise ApiError(422, "invalid_input", fields={"caption": field_text(request, "string_too_long")})
    if caption is not None and bad_text(caption):
        raise ApiError(422, "invalid_input", fields={"caption": field_text(request, "invalid")})
    name, content_type, data = upload
    name = Path(name).name[:128] or "file"
    if fields.get("as_photo") == "1" and content_type in IMAGE_TYPES:
        stored = sandbox.server.add_file(data, "photo.jpg")
        message = await sandbox.server.send(user, caption=caption,
                                            photo=photo_sizes(stored.file_id, stored.file_unique_id, stored.size))
    else:
        message = await sandbox.server.send_document(user, data, name, content_type, caption=caption)
    return web.json_response(message, status=201)


async def press(request: web.Request) -> web.Response:
    user = _user_of(request)
    body = await _body(request, PressIn)
    sandbox = request.app[SANDBOX]
    message = sandbox.server.messages.get((user.id, body.message_id))
    buttons = [b for row in ((message or {}).get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
    if message is None or not any(b.get("callback_data") == body.data for b in buttons):
        raise ApiError(404, "not_found")  # only a button that is there can be pressed
    query_id = await sandbox.server.press(user, message, body.data)
    return web.json_response({"callback_query_id": query_id}, status=201)


async def share_contact(request: web.Request) -> web.Response:
    user = _user_of(request)
    body = await _body(request, ContactIn)
    contact = {"phone_number": body.phone_number, "first_name": user.first_name, "user_id": user.id}
    message = await request.app[SANDBOX].server.send(user, contact=contact)
    return web.json_response(message, status=201)


async def share_location(request: web.Request) -> web.Response:
    user = _user_of(request)
    body = await _body(request, LocationIn)
    message = await request.app[SANDBOX].server.send(
        user, location={"latitude": body.latitude, "longitude": body.longitude})
    return web.json_response(message, status=201)


async def download(request: web.Request) -> web.StreamResponse:
    _staff_only(request)
    stored = request.app[SANDBOX].server.files.get(request.match_info["file"])
    if stored is None or stored.data is None:
        raise ApiError(404, "not_found")
    image = stored.data[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\xff\xd8\xff\xdb") \
        or stored.data[:3] == b"GIF" or stored.data[8:12] == b"WEBP"
    headers = {"Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff"}
    if not image:
        headers["Content-Disposition"] = "attachment"
    return web.Response(body=stored.data, content_type=_image_type(stored.data) if image else
                        "application/octet-stream", headers=headers)


def _image_type(data: bytes) -> str:
    if data[:4] == b"\x89PNG":
        return "image/png"
    if data[:3] == b"GIF":
        return "image/gif"
    if data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


async def socket(request: web.Request) -> web.StreamResponse:
    """Live chat events for the page. Same-origin only, staff only; the socket only listens."""
    if foreign_origin(request):
        log.warning("sandbox websocket refused: foreign origin", extra={"origin": request.headers.get("Origin")})
        return web.json_response({"error": "origin"}, status=403)
    actor = request.get(ACTOR)
    if actor is None or not is_staff(actor.operator):
        return web.json_response({"error": "unauthorized"}, status=401 if actor is None else 403)
    sandbox = request.app[SANDBOX]
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4096)
    await ws.prepare(request)
    sandbox.sockets.add(ws)
    try:
        await ws.send_str(json.dumps({"type": "hello"}))
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        sandbox.sockets.discard(ws)
    return ws


__all__ = ["SANDBOX", "Sandbox", "setup"]
