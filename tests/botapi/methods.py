"""Bot API methods: each takes (server, params, files) and returns the `result` or raises ApiError."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tests.botapi.errors import ApiError, bad_request
from tests.botapi.html_check import EntityError, plain_text
from tests.botapi.objects import bot_user, compact, now, photo_sizes

if TYPE_CHECKING:
    from tests.botapi.server import TelegramServer, Upload

Handler = Callable[["TelegramServer", dict[str, Any], dict[str, "Upload"]], Awaitable[Any]]
METHODS: dict[str, Handler] = {}

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
FILE_LIMIT = 20 * 1024 * 1024


def method(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        METHODS[name.lower()] = func
        return func

    return register


# ---- identity, updates, webhook -------------------------------------------------------------
@method("getMe")
async def get_me(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    return bot_user(server.bot_id)


@method("getUpdates")
async def get_updates(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    if server.webhook:
        raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                            "use deleteWebhook to delete the webhook first")
    offset = int(params.get("offset") or 0)
    limit = max(1, min(100, int(params.get("limit") or 100)))
    timeout = float(params.get("timeout") or 0)
    allowed = params.get("allowed_updates") or None
    async with server._changed:
        if offset > 0:  # confirms every update below the offset
            server.updates = [u for u in server.updates if u["update_id"] >= offset]
            server._changed.notify_all()

        def ready() -> list[dict[str, Any]]:
            return [u for u in server.updates if _allowed(u, allowed)][:limit]

        if not ready() and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server._changed.wait_for(lambda: bool(ready()) or bool(server.webhook)),
                                       timeout)
        return [] if server.webhook else ready()


def _allowed(update: dict[str, Any], allowed: list[str] | None) -> bool:
    return not allowed or any(key in update for key in allowed)


@method("setWebhook")
async def set_webhook(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    url = params.get("url") or ""
    if not url:
        return await delete_webhook(server, params, files)
    if not str(url).startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not (1 <= len(str(secret)) <= 256):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    async with server._changed:
        if params.get("drop_pending_updates"):
            server.updates.clear()
        server.webhook = {"url": url, "secret_token": secret, "allowed_updates": params.get("allowed_updates"),
                          "max_connections": params.get("max_connections", 40)}
        server._changed.notify_all()
    return True


@method("deleteWebhook")
async def delete_webhook(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    async with server._changed:
        if params.get("drop_pending_updates"):
            server.updates.clear()
        server.webhook = None
        server._changed.notify_all()
    return True


@method("getWebhookInfo")
async def get_webhook_info(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    hook = server.webhook or {}
    info: dict[str, Any] = {"url": hook.get("url", ""), "has_custom_certificate": False,
                            "pending_update_count": len(server.updates)}
    failed = [a for a in server.webhook_attempts if a.status != 200]
    if hook and failed:
        info["last_error_date"] = now()
        info["last_error_message"] = failed[-1].error or f"Wrong response from the webhook: {failed[-1].status}"
    if hook.get("allowed_updates"):
        info["allowed_updates"] = hook["allowed_updates"]
    return info


@method("logOut")
@method("close")
@method("setMyDescription")
@method("setMyShortDescription")
@method("setChatMenuButton")
async def accept(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    return True


@method("setMyCommands")
async def set_my_commands(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    commands = params.get("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be a list of at most 100 items")
    for command in commands:
        name = str(command.get("command", ""))
        if not (1 <= len(name) <= 32) or not name.replace("_", "").isalnum() or name.lower() != name:
            raise bad_request("BOT_COMMAND_INVALID")
        if not (1 <= len(str(command.get("description", ""))) <= 256):
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    scope = (params.get("scope") or {}).get("type", "default")
    server.commands[(scope, params.get("language_code") or "")] = commands
    return True


@method("getMyCommands")
async def get_my_commands(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    scope = (params.get("scope") or {}).get("type", "default")
    return server.commands.get((scope, params.get("language_code") or ""), [])


@method("deleteMyCommands")
async def delete_my_commands(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    scope = (params.get("scope") or {}).get("type", "default")
    server.commands.pop((scope, params.get("language_code") or ""), None)
    return True


# ---- sending --------------------------------------------------------------------------------
def _chat(server: TelegramServer, params: dict[str, Any]) -> int:
    raw = params.get("chat_id")
    if raw is None or raw == "":
        raise bad_request("chat_id is empty")
    try:
        chat_id = int(raw)
    except (TypeError, ValueError):
        raise bad_request("chat not found") from None
    if chat_id not in server.users:
        raise bad_request("chat not found")
    return chat_id


def _check_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not (1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT):
                raise bad_request("BUTTON_DATA_INVALID")
            if data is None and not button.get("url"):
                raise bad_request("can't find field \"callback_data\"")
    return markup


def _formatted(params: dict[str, Any], key: str, limit: int, *, required: bool) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise bad_request("message text is empty")
        return None
    text = str(value)
    if str(params.get("parse_mode") or "").upper() == "HTML":
        try:
            text = plain_text(text)
        except EntityError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    if len(text) > limit:
        raise bad_request("message is too long" if key == "text" else "message caption is too long")
    if required and not text.strip():
        raise bad_request("message text is empty")
    return text


def _reply_to(server: TelegramServer, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
    reply = params.get("reply_parameters") or {}
    target = reply.get("message_id") or params.get("reply_to_message_id")
    if not target:
        return None
    found = server.messages.get((chat_id, int(target)))
    if found is None:
        if reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    return {k: v for k, v in found.items() if k != "reply_to_message"}


def _inline_only(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Telegram's Message carries only an inline keyboard; a reply keyboard stays on the client."""
    return markup if markup is not None and "inline_keyboard" in markup else None


def _bot_message(server: TelegramServer, chat_id: int, params: dict[str, Any], **content: Any) -> dict[str, Any]:
    message = compact({
        "message_id": server._new_message_id(chat_id),
        "from": bot_user(server.bot_id),
        "chat": server.users[chat_id].as_chat(),
        "date": now(),
        "reply_to_message": _reply_to(server, chat_id, params),
        "reply_markup": _inline_only(_check_markup(params)),
        **content,
    })
    server.messages[(chat_id, message["message_id"])] = message
    return message


@method("sendMessage")
async def send_message(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    text = _formatted(params, "text", TEXT_LIMIT, required=True)
    return _bot_message(server, chat_id, params, text=text)


def _input_file(server: TelegramServer, value: Any, files: dict[str, Upload], field: str) -> tuple[str, str, int]:
    """An uploaded part, a known file_id, or a URL: returns (file_id, unique_id, size)."""
    upload = files.get(field)
    if upload is None and isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value[9:])
    if upload is not None:
        stored = server.add_file(upload.data, upload.filename)
        return stored.file_id, stored.file_unique_id, stored.size
    if isinstance(value, str) and value in server.files:
        stored = server.files[value]
        return stored.file_id, stored.file_unique_id, stored.size
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        stored = server.add_file(b"", value.rsplit("/", 1)[-1])
        return stored.file_id, stored.file_unique_id, 0
    raise bad_request("wrong file identifier/HTTP URL specified")


def _media_content(server: TelegramServer, kind: str, value: Any, files: dict[str, Upload], field: str,
                   ) -> dict[str, Any]:
    file_id, unique_id, size = _input_file(server, value, files, field)
    if kind == "photo":
        return {"photo": photo_sizes(file_id, unique_id, size)}
    body: dict[str, Any] = {"file_id": file_id, "file_unique_id": unique_id, "file_size": size}
    upload = files.get(field)
    if upload is not None and kind in ("document", "audio", "video"):
        body["file_name"] = upload.filename
        body["mime_type"] = upload.content_type
    return {kind: body}


def _media_method(kind: str) -> Handler:
    async def send(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = _chat(server, params)
        caption = _formatted(params, "caption", CAPTION_LIMIT, required=False)
        if params.get(kind) is None and kind not in files:
            raise bad_request(f"there is no {kind} in the request")
        content = _media_content(server, kind, params.get(kind), files, kind)
        return _bot_message(server, chat_id, params, caption=caption, **content)

    return send


for _kind, _name in (("photo", "sendPhoto"), ("document", "sendDocument"), ("audio", "sendAudio"),
                     ("voice", "sendVoice"), ("video", "sendVideo"), ("animation", "sendAnimation"),
                     ("video_note", "sendVideoNote"), ("sticker", "sendSticker")):
    METHODS[_name.lower()] = _media_method(_kind)


@method("sendMediaGroup")
async def send_media_group(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    media = params.get("media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("media group must contain 2-10 items")
    group = f"g{server._new_message_id(-1)}"
    messages = []
    for item in media:
        caption = _formatted(item, "caption", CAPTION_LIMIT, required=False)
        content = _media_content(server, item.get("type", "document"), item.get("media"), files, "")
        messages.append(_bot_message(server, chat_id, params, caption=caption, media_group_id=group, **content))
    return messages


@method("sendLocation")
async def send_location(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
    return _bot_message(server, chat_id, params, location=location)


@method("sendChatAction")
async def send_chat_action(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    _chat(server, params)
    if not params.get("action"):
        raise bad_request("wrong parameter action in request")
    return True


@method("copyMessage")
async def copy_message(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    message = await forward_message(server, params, files)
    return {"message_id": message["message_id"]}


@method("forwardMessage")
async def forward_message(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    source = server.messages.get((int(params["from_chat_id"]), int(params["message_id"])))
    if source is None:
        raise bad_request("message to copy not found")
    content = {k: v for k, v in source.items()
               if k not in ("message_id", "from", "chat", "date", "reply_to_message", "reply_markup")}
    return _bot_message(server, chat_id, params, **content)


# ---- editing --------------------------------------------------------------------------------
def _own_message(server: TelegramServer, params: dict[str, Any], action: str) -> tuple[int, dict[str, Any]]:
    chat_id = _chat(server, params)
    message = server.messages.get((chat_id, int(params.get("message_id") or 0)))
    if message is None:
        raise bad_request(f"message to {action} not found")
    if message.get("from", {}).get("id") != server.bot_id:
        raise bad_request(f"message can't be {action}ed" if action != "edit" else "message can't be edited")
    return chat_id, message


@method("editMessageText")
async def edit_message_text(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id, message = _own_message(server, params, "edit")
    text = _formatted(params, "text", TEXT_LIMIT, required=True)
    markup = _check_markup(params)
    if text == message.get("text") and markup == message.get("reply_markup"):
        raise bad_request("message is not modified: specified new message content and reply markup are exactly "
                          "the same as a current content and reply markup of the message")
    edited = compact({**message, "text": text, "reply_markup": markup, "edit_date": now()})
    server.messages[(chat_id, message["message_id"])] = edited
    return edited


@method("editMessageCaption")
async def edit_message_caption(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id, message = _own_message(server, params, "edit")
    caption = _formatted(params, "caption", CAPTION_LIMIT, required=False)
    edited = compact({**message, "caption": caption, "reply_markup": _check_markup(params), "edit_date": now()})
    server.messages[(chat_id, message["message_id"])] = edited
    return edited


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id, message = _own_message(server, params, "edit")
    markup = _check_markup(params)
    if markup == message.get("reply_markup"):
        raise bad_request("message is not modified: specified new message content and reply markup are exactly "
                          "the same as a current content and reply markup of the message")
    edited = compact({**message, "reply_markup": markup, "edit_date": now()})
    if markup is None:
        edited.pop("reply_markup", None)
    server.messages[(chat_id, message["message_id"])] = edited
    return edited


@method("deleteMessage")
async def delete_message(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    if server.messages.pop((chat_id, int(params.get("message_id") or 0)), None) is None:
        raise bad_request("message to delete not found")
    return True


@method("answerCallbackQuery")
async def answer_callback_query(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    query_id = str(params.get("callback_query_id") or "")
    if query_id not in server.callback_queries or query_id in server.answered_callbacks:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    if len(str(params.get("text") or "")) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    server.answered_callbacks[query_id] = params
    return True


# ---- files ----------------------------------------------------------------------------------
@method("getFile")
async def get_file(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    stored = server.files.get(str(params.get("file_id") or ""))
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > FILE_LIMIT:
        raise bad_request("file is too big")
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.size,
            "file_path": stored.path}
