"""Inline keyboards, with labels in the customer's language."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import CloseCb, KbCb, LangCb, MenuCb, RateCb, TopicCb
from bot.i18n import Tr
from core.i18n import N_

TOPICS = (
    ("technical", N_("🛠 Technical support")),
    ("billing", N_("💳 Billing")),
    ("logistics", N_("🚚 Logistics")),
    ("general", N_("💬 Something else")),
)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def menu(tr: Tr) -> InlineKeyboardMarkup:
    rows = [
        [_button(tr("❓ Ask a question"), MenuCb(action="ask").pack())],
        [_button(tr("🎫 My tickets"), MenuCb(action="tickets").pack())],
        [_button(tr("🛒 Place an order"), MenuCb(action="order").pack()),
         _button(tr("📦 My orders"), MenuCb(action="orders").pack())],
        [_button(tr("👤 Talk to a human"), MenuCb(action="human").pack())],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _button("English", LangCb(language="en").pack()), _button("Русский", LangCb(language="ru").pack()),
    ]])


def topics(tr: Tr) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(tr(label), TopicCb(queue=slug).pack())]
                                                 for slug, label in TOPICS])


def human(tr: Tr) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(tr("👤 Talk to a human"), MenuCb(action="human").pack())]])


def article(tr: Tr, article_id: int, related: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [[_button(tr("👍 This helped"), KbCb(action="helped", article_id=article_id).pack()),
             _button(tr("👤 Talk to a human"), KbCb(action="human", article_id=article_id).pack())]]
    rows += [[_button(f"📄 {title[:60]}", KbCb(action="show", article_id=other).pack())]
             for other, title in related[:3]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def suggestions(tr: Tr, found: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [[_button(f"📄 {title[:60]}", KbCb(action="show", article_id=article_id).pack())]
            for article_id, title in found[:3]]
    rows.append([_button(tr("👤 Talk to a human"), MenuCb(action="human").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def ticket_actions(tr: Tr, ticket_id: int) -> InlineKeyboardMarkup:
    close = _button(tr("✅ Close the ticket"), CloseCb(ticket_id=ticket_id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[close]])


def rating(tr: Tr, ticket_id: int) -> InlineKeyboardMarkup:
    stars = [_button("⭐" * score if score <= 1 else f"{score}⭐", RateCb(ticket_id=ticket_id, score=score).pack())
             for score in range(1, 6)]
    return InlineKeyboardMarkup(inline_keyboard=[stars])


def skip_comment(tr: Tr, ticket_id: int) -> InlineKeyboardMarkup:
    skip = _button(tr("Skip the comment"), RateCb(ticket_id=ticket_id, score=0).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[skip]])
