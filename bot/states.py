from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Support(StatesGroup):
    choosing_topic = State()
    order_number = State()
    rating_comment = State()
