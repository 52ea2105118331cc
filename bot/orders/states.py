from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Ordering(StatesGroup):
    shopping = State()
    address = State()
    phone = State()
    booking = State()
    comment = State()
    confirming = State()


class Rejecting(StatesGroup):
    reason = State()
