"""Bot API methods: each takes (server, params, files) and returns the `result` or raises ApiError.
Strict where Telegram is strict (HTML entities, lengths, sizes, button data), so the sandbox refuses
what Telegram would refuse."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from web.sandbox.errors import ApiError, bad_request
from web.sandbox.html_check import EntityError, parse, plain_text
from web.sandbox.limits import CAPTION_LIMIT, DOWNLOAD_LIMIT, PHOTO_UPLOAD_LIMIT, TEXT_LIMIT, UPLOAD_LIMIT
from web.sandbox.objects import compact, now, photo_sizes

if TYPE_CHECKING:
    from web.sandbox.server import TelegramServer, Upload

Handler = Callable[["TelegramServer", dict[str, Any], dict[str, "Upload"]], Awaitable[Any]]
METHODS: dict[str, Handler] = {}

CALLBACK_DATA_LIMIT = 64
FILE_LIMIT = DOWNLOAD_LIMIT


def method(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        METHODS[name.lower()] = func
        return func

    return register


# ---- identity, updates, webhook -------------------------------------------------------------
@method("getMe")
async def get_me(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    return server.bot_user()


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
    group = server.groups.get(chat_id)
    if group is not None:
        if group.bot_status in ("kicked", "left"):
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        return chat_id
    if chat_id not in server.users and (server.find_user is None or server.find_user(chat_id) is None):
        raise bad_request("chat not found")
    return chat_id


def _chat_object(server: TelegramServer, chat_id: int) -> dict[str, Any]:
    group = server.groups.get(chat_id)
    return group.as_chat() if group is not None else server.users[chat_id].as_chat()


def _thread(server: TelegramServer, chat_id: int, params: dict[str, Any]) -> int | None:
    """`message_thread_id` of a send: a live topic of a forum, as Telegram checks it."""
    raw = params.get("message_thread_id")
    if raw in (None, ""):
        return None
    group = server.groups.get(chat_id)
    if group is None or not group.is_forum:
        return None  # Telegram ignores it outside forums
    topic = group.topics.get(int(raw))
    if topic is None or topic.get("deleted"):
        raise bad_request("message thread not found")
    if topic.get("closed") and not group.bot_rights.get("can_manage_topics"):
        raise bad_request("TOPIC_CLOSED")
    return int(raw)


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


def _entities(params: dict[str, Any], key: str) -> list[dict[str, Any]] | None:
    """The formatting of an HTML text as Telegram returns it (`entities`); None for plain text."""
    value = params.get(key)
    if not value or str(params.get("parse_mode") or "").upper() != "HTML":
        return None
    return parse(str(value))[1] or None


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


def _keep_keyboard(server: TelegramServer, chat_id: int, markup: dict[str, Any] | None) -> None:
    """A reply keyboard (or its removal) changes what the user's client shows under the input."""
    if markup is None or "inline_keyboard" in markup:
        return
    if markup.get("remove_keyboard"):
        server.keyboards.pop(chat_id, None)
    elif "keyboard" in markup:
        server.keyboards[chat_id] = markup


def _bot_message(server: TelegramServer, chat_id: int, params: dict[str, Any], **content: Any) -> dict[str, Any]:
    thread = _thread(server, chat_id, params)
    message = compact({
        "message_id": server._new_message_id(chat_id),
        "from": server.bot_user(),
        "chat": _chat_object(server, chat_id),
        "message_thread_id": thread,
        "is_topic_message": True if thread is not None else None,
        "date": now(),
        "reply_to_message": _reply_to(server, chat_id, params),
        "reply_markup": _inline_only(_check_markup(params)),
        **content,
    })
    server.messages[(chat_id, message["message_id"])] = message
    _keep_keyboard(server, chat_id, params.get("reply_markup"))
    return message


@method("sendMessage")
async def send_message(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    text = _formatted(params, "text", TEXT_LIMIT, required=True)
    return _bot_message(server, chat_id, params, text=text, entities=_entities(params, "text"))


def _input_file(server: TelegramServer, value: Any, files: dict[str, Upload], field: str) -> tuple[str, str, int]:
    """An uploaded part, a known file_id, or a URL: returns (file_id, unique_id, size)."""
    upload = files.get(field)
    if upload is None and isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value[9:])
    if upload is not None:
        if len(upload.data) > (PHOTO_UPLOAD_LIMIT if field == "photo" else UPLOAD_LIMIT):
            raise ApiError(413, "Request Entity Too Large")
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
        return _bot_message(server, chat_id, params, caption=caption,
                            caption_entities=_entities(params, "caption"), **content)

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
    edited = compact({**message, "text": text, "entities": _entities(params, "text"), "reply_markup": markup,
                      "edit_date": now()})
    server.messages[(chat_id, message["message_id"])] = edited
    return edited


@method("editMessageCaption")
async def edit_message_caption(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id, message = _own_message(server, params, "edit")
    caption = _formatted(params, "caption", CAPTION_LIMIT, required=False)
    edited = compact({**message, "caption": caption, "caption_entities": _entities(params, "caption"),
                      "reply_markup": _check_markup(params), "edit_date": now()})
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


# ---- groups and forum topics ----------------------------------------------------------------
def _group(server: TelegramServer, params: dict[str, Any]) -> Any:
    chat_id = _chat(server, params)
    group = server.groups.get(chat_id)
    if group is None:
        raise bad_request("method is available only for supergroups")
    return group


def _forum(server: TelegramServer, params: dict[str, Any]) -> Any:
    group = _group(server, params)
    if not group.is_forum:
        raise bad_request("the chat is not a forum")
    if group.bot_status != "administrator" or not group.bot_rights.get("can_manage_topics"):
        raise bad_request("not enough rights to manage topics")
    return group


def _topic(group: Any, params: dict[str, Any]) -> dict[str, Any]:
    topic = group.topics.get(int(params.get("message_thread_id") or 0))
    if topic is None or topic.get("deleted"):
        raise bad_request("TOPIC_ID_INVALID")
    return dict(topic)


def _topic_name(params: dict[str, Any]) -> str:
    name = str(params.get("name") or "")
    if not 1 <= len(name) <= 128:
        raise bad_request("TOPIC_NAME_INVALID" if name else "topic name is empty")
    return name


@method("getChat")
async def get_chat(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    gifts = {"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False, "premium_subscription": False,
             "gifts_from_channels": False}
    return {**_chat_object(server, chat_id), "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": gifts}


@method("getChatMember")
async def get_chat_member(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    user_id = int(params.get("user_id") or 0)
    group = server.groups.get(chat_id)
    if user_id == server.bot_id:
        status = group.bot_status if group is not None else "member"
        member: dict[str, Any] = {"status": status, "user": server.bot_user()}
        if status == "administrator" and group is not None:
            member.update({"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                           "can_delete_messages": True, "can_manage_video_chats": False,
                           "can_restrict_members": False, "can_promote_members": False, "can_change_info": False,
                           "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                           "can_delete_stories": False, "can_send_welcome_messages": False,
                           "can_manage_topics": bool(group.bot_rights.get("can_manage_topics"))})
        return member
    user = server.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    return {"status": "member", "user": user.as_user()}


@method("createForumTopic")
async def create_forum_topic(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    group = _forum(server, params)
    name = _topic_name(params)
    thread = server._new_message_id(group.id)  # a topic's id is the id of the service message that opened it
    topic = {"message_thread_id": thread, "name": name, "icon_color": int(params.get("icon_color") or 7322096)}
    group.topics[thread] = {**topic, "closed": False}
    server.messages[(group.id, thread)] = compact({
        "message_id": thread, "from": server.bot_user(), "chat": group.as_chat(), "date": now(),
        "message_thread_id": thread, "is_topic_message": True,
        "forum_topic_created": {"name": name, "icon_color": topic["icon_color"]},
    })
    return topic


@method("editForumTopic")
async def edit_forum_topic(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    group = _forum(server, params)
    topic = _topic(group, params)
    if params.get("name") is not None:
        name = _topic_name(params)
        if name == topic["name"]:
            raise bad_request("TOPIC_NOT_MODIFIED")
        group.topics[topic["message_thread_id"]]["name"] = name
    return True


def _topic_state(closed: bool) -> Handler:
    async def change(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        group = _forum(server, params)
        topic = _topic(group, params)
        if topic["closed"] == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        group.topics[topic["message_thread_id"]]["closed"] = closed
        return True

    return change


METHODS["closeforumtopic"] = _topic_state(True)
METHODS["reopenforumtopic"] = _topic_state(False)


@method("deleteForumTopic")
async def delete_forum_topic(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    group = _forum(server, params)
    topic = _topic(group, params)
    server.delete_topic(group, topic["message_thread_id"])
    return True


@method("setMessageReaction")
async def set_message_reaction(server: TelegramServer, params: dict[str, Any], files: dict[str, Upload]) -> Any:
    chat_id = _chat(server, params)
    message_id = int(params.get("message_id") or 0)
    if (chat_id, message_id) not in server.messages:
        raise bad_request("message to react not found")
    reaction = params.get("reaction") or []
    if not isinstance(reaction, list):
        raise bad_request("REACTION_INVALID")
    for item in reaction:
        if not isinstance(item, dict) or item.get("type") not in ("emoji", "custom_emoji", "paid"):
            raise bad_request("REACTION_INVALID")
    server.reactions[(chat_id, message_id)] = reaction
    return True
