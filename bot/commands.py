"""The command menu in both languages (setMyCommands: default = English, plus Russian)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand

from bot.i18n import Tr
from core.i18n import N_, Translator

COMMANDS = (
    ("start", N_("Open the menu")),
    ("human", N_("Talk to a human")),
    ("close", N_("Close my ticket")),
    ("language", N_("Change the language")),
    ("help", N_("How to use this bot")),
)


async def register_commands(bot: Bot, translator: Translator) -> None:
    for language in ("en", "ru"):
        tr = Tr(translator, language)
        commands = [BotCommand(command=name, description=tr(text)) for name, text in COMMANDS]
        await bot.set_my_commands(commands, language_code=None if language == "en" else language)
