"""Callback data of the support bot's buttons (at most 64 bytes each, parsed and validated by aiogram)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="m"):
    action: str  # ask | tickets | order | orders | human


class LangCb(CallbackData, prefix="l"):
    language: str


class KbCb(CallbackData, prefix="kb"):
    action: str  # helped | show | human
    article_id: int


class TopicCb(CallbackData, prefix="t"):
    queue: str


class CloseCb(CallbackData, prefix="c"):
    ticket_id: int


class RateCb(CallbackData, prefix="r"):
    ticket_id: int
    score: int  # 1-5; 0 = skip the comment
