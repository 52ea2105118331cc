"""The Telegram adapter of core's dialogue: a message becomes an `Incoming` (kept raw until core asks
the parser for an `Inbound`), answers become HTML messages with inline keyboards whose callback data
are the formats of `bot/callbacks.py`, and a pressed button becomes its `Action` again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    TelegramObject,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CloseCb, KbCb, MenuCb, RateCb, TopicCb
from bot.channel_spec import NAME as TELEGRAM
from bot.i18n import Tr
from bot.inbound import TOO_BIG, message_key, to_inbound
from bot.markdown import pack, to_blocks
from bot.render import attr, esc
from core.channels import ChannelAdapter, Parsed
from core.context import Desk
from core.dialogue import Action, Answer, ArticleView, Button, Incoming
from core.dialogue import answers as a
from core.dialogue import state as dialogue_state
from core.dialogue.service import CHOOSING_TOPIC, ORDER_NUMBER, RATING_COMMENT
from core.outbox import Channel

_MENU = {a.MENU_ASK: "ask", a.MENU_TICKETS: "tickets", a.MENU_ORDER: "order", a.MENU_ORDERS: "orders",
         a.HUMAN: "human"}
_MENU_ACTIONS = {value: key for key, value in _MENU.items()}
_KB = {a.KB_HELPED: "helped", a.KB_SHOW: "show", a.KB_HUMAN: "human"}
_KB_ACTIONS = {value: key for key, value in _KB.items()}


def callback_data(action: Action) -> str:
    """The button's callback data, in the formats tests and old messages already carry."""
    if action.name in _MENU:
        return MenuCb(action=_MENU[action.name]).pack()
    if action.name in _KB:
        return KbCb(action=_KB[action.name], article_id=action.int_arg()).pack()
    if action.name == a.TOPIC:
        return TopicCb(queue=str(action.args[0])).pack()
    if action.name == a.CLOSE:
        return CloseCb(ticket_id=action.int_arg()).pack()
    if action.name == a.RATE:
        return RateCb(ticket_id=action.int_arg(0), score=action.int_arg(1)).pack()
    raise ValueError(f"no Telegram button for {action.name!r}")


def menu_action(data: MenuCb) -> Action:
    return Action(_MENU_ACTIONS[data.action])


def kb_action(data: KbCb) -> Action:
    return Action(_KB_ACTIONS[data.action], (data.article_id,))


def markup(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=button.label, callback_data=callback_data(button.action)) for button in row]
        for row in buttons
    ])


@dataclass(frozen=True)
class Ack:
    """The answer to a pressed button (answerCallbackQuery)."""

    text: str | None = None
    alert: bool = False


@dataclass(frozen=True)
class Send:
    text: str  # HTML
    reply_markup: InlineKeyboardMarkup | None = None
    no_preview: bool = False


Rendered = Ack | Send


def render(answers: list[Answer], language: str = "") -> list[Rendered]:
    """Answers as Telegram sends them: escaped HTML, an article in as few messages as fit with its
    buttons under the last part, link previews off for articles."""
    out: list[Rendered] = []
    for answer in answers:
        if answer.ack:
            out.append(Ack(answer.text or None, answer.alert))
        elif answer.article is not None:
            parts = _article_parts(answer.article)
            out += [Send(part, markup(answer.buttons) if index == len(parts) - 1 else None, no_preview=True)
                    for index, part in enumerate(parts)]
        elif answer.text:
            out.append(Send(esc(answer.text), markup(answer.buttons)))
    return out


def _article_parts(article: ArticleView) -> list[str]:
    blocks = [f"<b>{esc(article.title)}</b>", *to_blocks(article.body)]
    if article.links:
        lines = [f'• <a href="{attr(link.url)}">{esc(link.title)}</a>' for link in article.links]
        blocks.append(article.links_heading + "\n" + "\n".join(lines))
    return pack(blocks)


async def show(bot: Bot, chat_id: int, answers: list[Answer], callback: CallbackQuery | None = None) -> int | None:
    """Send the answers; a pressed button is answered first (with nothing if core said nothing).
    Returns the id of the last message sent."""
    rendered = render(answers)
    acks = [item for item in rendered if isinstance(item, Ack)]
    if callback is not None:
        ack = acks[0] if acks else Ack()
        await callback.answer(ack.text, show_alert=ack.alert or None)
    last = None
    for item in rendered:
        if isinstance(item, Send):
            sent = await bot.send_message(chat_id, item.text, reply_markup=item.reply_markup,
                                          link_preview_options=LinkPreviewOptions(is_disabled=True)
                                          if item.no_preview else None)
            last = sent.message_id
    return last


def incoming(message: Message) -> Incoming:
    """The dialogue's view of a Telegram message; the raw JSON is what the parser reads at handoff."""
    raw = message.model_dump(mode="json", exclude_none=True, by_alias=True)
    return Incoming(text=message.text, raw=raw, key=message_key(message.chat.id, message.message_id),
                    summary=message.text or message.caption or "")


def telegram_adapter(desk: Desk, bot: Bot, channel: Channel) -> ChannelAdapter:
    """Telegram as core's registry sees it: its spec, its parser (files fetched with getFile into the
    attachment store), its renderer and its outbox channel."""

    async def parse(raw: dict[str, Any], language: str) -> Parsed:
        message = Message.model_validate(raw).as_(bot)
        inbound = await to_inbound(bot, desk.storage, message)
        tr = Tr(desk.translator, language)
        notices: list[str] = []
        for item in inbound.attachments:
            if item.problem == TOO_BIG:
                notices.append(tr("The file {name} is larger than 20 MB, which Telegram does not let bots "
                                  "download. Your message is saved; please send a smaller file or a link.",
                                  name=item.file_name))
            elif item.problem:
                notices.append(tr("The file {name} was not accepted (type or size). Your message is saved; "
                                  "please send a PDF, an image or a document instead.", name=item.file_name))
        if inbound.kind == "unsupported":
            notices.append(tr("This kind of message cannot be passed to an operator. Please send text, a photo "
                              "or a file."))
        return Parsed(inbound, tuple(notices))

    return ChannelAdapter(spec=desk.channels.get(TELEGRAM), parse=parse, render=render, deliver=channel)


_LEGACY_STEPS = {"Support:choosing_topic": CHOOSING_TOPIC, "Support:order_number": ORDER_NUMBER,
                 "Support:rating_comment": RATING_COMMENT}


class LegacySupportState(BaseMiddleware):
    """Conversations in flight when this version starts kept their step and pending messages in
    aiogram's FSM: move them into core's dialogue state on the customer's next update."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        contact = data.get("contact")
        session: AsyncSession | None = data.get("session")
        if state is not None and contact is not None and session is not None:
            raw_state = data.get("raw_state")
            old = await state.get_data()
            if raw_state in _LEGACY_STEPS or "pending" in old or "comment_ticket" in old:
                await adopt(session, contact.id, state, raw_state, old)
                data["raw_state"] = await state.get_state()
        return await handler(event, data)


async def adopt(session: AsyncSession, contact_id: int, state: FSMContext, raw_state: str | None,
                old: dict[str, Any]) -> None:
    moved = await dialogue_state.load(session, TELEGRAM, contact_id)
    if raw_state in _LEGACY_STEPS:
        moved.step = _LEGACY_STEPS[raw_state]
        await state.set_state(None)
    for raw in old.get("pending", []):
        chat = raw.get("chat", {}).get("id", 0)
        moved.add_turn({"who": "customer", "raw": raw, "key": message_key(chat, raw.get("message_id", 0)),
                        "text": raw.get("text") or raw.get("caption") or ""})
    if isinstance(old.get("comment_ticket"), int):
        moved.data = {**moved.data, "comment_ticket": old["comment_ticket"]}
    await state.set_data({k: v for k, v in old.items() if k not in ("pending", "comment_ticket")})
    await dialogue_state.save(session, moved)
