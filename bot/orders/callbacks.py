"""Callback data of order buttons (each under Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from core.orders.render import CALLBACK_PREFIX


class OrderActionCb(CallbackData, prefix=CALLBACK_PREFIX):
    """Packs exactly like core.orders.render.action_callback: `ord:<id>:<current>:<target>`."""

    order_id: int
    current: str
    target: str


class RejectReasonCb(CallbackData, prefix="ordr"):
    order_id: int
    reason: str  # out_of_stock | closed | other


class ShopCb(CallbackData, prefix="shop"):
    action: str  # store | add | inc | dec | rm | page | photo | checkout | abort
    value: int = 0


class KindCb(CallbackData, prefix="okind"):
    kind: str


class SlotCb(CallbackData, prefix="oslot"):
    field: str  # date | time | party
    value: str


class FlowCb(CallbackData, prefix="oflow"):
    action: str  # skip | confirm | abort


class CancelOrderCb(CallbackData, prefix="ocx"):
    order_id: int


class LeaveStoreCb(CallbackData, prefix="oleave"):
    store_id: int
