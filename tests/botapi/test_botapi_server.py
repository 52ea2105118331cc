"""The test server speaks the Bot API as the real aiogram client expects it."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BotCommand, BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.factory import create_bot
from tests.botapi import TelegramServer


@pytest.fixture
async def bot(telegram: TelegramServer):
    client = create_bot(telegram.token, telegram.base, timeout=2.0)
    yield client
    await client.session.close()


async def test_get_me_and_unknown_token(telegram: TelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == telegram.bot_id and me.is_bot
    stranger = create_bot("999:wrong", telegram.base)
    with pytest.raises(Exception, match="Unauthorized"):
        await stranger.get_me()
    await stranger.session.close()


async def test_send_message_records_params_and_numbers_messages_per_chat(telegram: TelegramServer, bot: Bot) -> None:
    anna = telegram.user("Anna")
    first = await telegram.send(anna, "hi")
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="y:1")]])
    sent = await bot.send_message(anna.id, "<b>Hello</b> &amp; welcome", reply_markup=markup,
                                  reply_to_message_id=first["message_id"])
    assert sent.message_id == first["message_id"] + 1
    assert sent.text == "Hello & welcome"
    assert sent.reply_to_message is not None and sent.reply_to_message.message_id == first["message_id"]
    call = await telegram.wait_for_call("sendMessage")
    assert call.chat_id == anna.id and call.text.startswith("<b>Hello")
    assert call.button("yes")["callback_data"] == "y:1"
    assert call.reply_to == first["message_id"]


@pytest.mark.parametrize(
    ("text", "error"),
    [("<b>open", "can't parse entities"), ("a < b", "can't parse entities"), ("x" * 4097, "message is too long"),
     ("   ", "message text is empty")],
)
async def test_bad_messages_are_refused_like_telegram(telegram: TelegramServer, bot: Bot, text: str,
                                                      error: str) -> None:
    anna = telegram.user("Anna")
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.send_message(anna.id, text)


async def test_unknown_chat_and_bad_button_data(telegram: TelegramServer, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(42, "hi")
    anna = telegram.user("Anna")
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]])
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(anna.id, "hi", reply_markup=markup)


async def test_faults_map_to_aiogram_exceptions(telegram: TelegramServer, bot: Bot) -> None:
    anna = telegram.user("Anna")
    telegram.fail("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(anna.id, "x")
    assert retry.value.retry_after == 7
    telegram.fail("sendMessage", 500)
    with pytest.raises(TelegramServerError):
        await bot.send_message(anna.id, "x")
    telegram.fail("sendMessage", 403)
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(anna.id, "x")
    telegram.delay("sendMessage", 3.0)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(anna.id, "x", request_timeout=1)
    await bot.send_message(anna.id, "x")  # faults were one-shot
    statuses = [c.status for c in telegram.calls_of("sendMessage", ok_only=False)]
    assert statuses[:3] == [429, 500, 403] and statuses[-1] == 200


async def test_uploads_are_recorded_and_downloadable(telegram: TelegramServer, bot: Bot) -> None:
    anna = telegram.user("Anna")
    sent = await bot.send_photo(anna.id, BufferedInputFile(b"\x89PNG-data", "shot.png"), caption="see")
    call = telegram.calls_of("sendPhoto")[-1]
    assert call.files["photo"].data == b"\x89PNG-data" and call.files["photo"].filename == "shot.png"
    doc = await bot.send_document(anna.id, BufferedInputFile(b"%PDF-1", "a.pdf"))
    assert doc.document is not None and doc.document.file_name == "a.pdf"
    file = await bot.get_file(sent.photo[-1].file_id)
    data = await bot.download_file(file.file_path)
    assert data is not None and data.read() == b"\x89PNG-data"


async def test_media_group_edit_delete_and_commands(telegram: TelegramServer, bot: Bot) -> None:
    from aiogram.types import InputMediaDocument, InputMediaPhoto

    anna = telegram.user("Anna")
    album = await bot.send_media_group(anna.id, [
        InputMediaPhoto(media=BufferedInputFile(b"one", "1.jpg"), caption="two files"),
        InputMediaDocument(media=BufferedInputFile(b"two", "2.pdf")),
    ])
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    original = await bot.send_message(anna.id, "orig")
    edited = await bot.edit_message_text("changed", chat_id=anna.id, message_id=original.message_id)
    assert isinstance(edited, Message) and edited.text == "changed"
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text("changed", chat_id=anna.id, message_id=edited.message_id)
    assert await bot.delete_message(anna.id, edited.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(anna.id, edited.message_id)
    await bot.set_my_commands([BotCommand(command="start", description="Start")], language_code="ru")
    assert telegram.commands[("default", "ru")][0]["command"] == "start"


async def test_polling_delivers_updates_with_offsets(telegram: TelegramServer, bot: Bot) -> None:
    anna = telegram.user("Anna", language_code="ru")
    router = Router()
    seen: list[str] = []

    @router.message(F.text)
    async def echo(message: Message) -> None:
        seen.append(message.text or "")
        await message.answer(f"echo {message.text}")

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        data = await bot.download(message.photo[-1].file_id)
        assert data is not None
        await message.answer(f"photo {len(data.read())} bytes")

    @router.callback_query()
    async def pressed(query) -> None:  # type: ignore[no-untyped-def]
        await query.answer("ok")
        seen.append(f"cb:{query.data}")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False,
                                                        polling_timeout=1))
    try:
        await telegram.send(anna, "привет")
        await telegram.send_photo(anna, b"12345")
        reply = await telegram.wait_for_call("sendMessage", lambda c: c.text == "echo привет")
        await telegram.wait_for_call("sendMessage", lambda c: c.text == "photo 5 bytes")
        query_id = await telegram.press(anna, reply, "x:1")
        await telegram.wait_for_call("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)
        await telegram.wait_until(lambda: not telegram.updates)
    finally:
        await dispatcher.stop_polling()
        await task
    assert seen == ["привет", "cb:x:1"]


async def test_webhook_delivery_secret_and_redelivery(telegram: TelegramServer, bot: Bot) -> None:
    anna = telegram.user("Anna")
    fail_first = {"left": 1}
    router = Router()

    @router.message()
    async def handle(message: Message) -> None:
        if fail_first["left"]:
            fail_first["left"] -= 1
            raise RuntimeError("crash while handling")
        await message.answer("stored")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token="right").register(app, "/hook")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="wrong")
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        await telegram.send(anna, "hello")
        update_id = telegram.updates[-1]["update_id"]
        attempts = await telegram.webhook_attempts_for(update_id, 2)
        assert [a.status for a in attempts[:2]] == [401, 401]
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="right")
        await telegram.wait_for_call("sendMessage", lambda c: c.text == "stored")
        await telegram.wait_confirmed(update_id)
        statuses = [a.status for a in telegram.webhook_attempts if a.update_id == update_id]
        assert 500 in statuses and statuses[-1] == 200
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_callback_answer_for_unknown_query_is_refused(telegram: TelegramServer, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("nope")


async def test_big_files_cannot_be_fetched(telegram: TelegramServer, bot: Bot) -> None:
    stored = telegram.add_file(None, "big.zip", size=25 * 1024 * 1024)
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(stored.file_id)


async def test_desk_bot_fixture_runs_polling_and_webhook(telegram: TelegramServer, desk_bot) -> None:  # type: ignore[no-untyped-def]
    await desk_bot()
    await telegram.wait_until(lambda: any(c.method == "getUpdates" for c in telegram.calls))
    assert telegram.webhook is None
    hooked = await desk_bot(mode="webhook")
    call = await telegram.wait_for_call("setWebhook")
    assert call.params["url"] == hooked.webhook_url and call.params["secret_token"]
