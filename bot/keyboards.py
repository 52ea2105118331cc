"""Inline keyboards of Telegram's own features (the dialogue's buttons come from core, rendered by
`bot/dialogue.markup`)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import LangCb


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _button("English", LangCb(language="en").pack()), _button("Русский", LangCb(language="ru").pack()),
    ]])
