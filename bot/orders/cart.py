"""The one shopping message: a page of the catalogue and the cart with its running total.
Every change re-renders this message instead of sending a new one."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Tr
from bot.orders.callbacks import ShopCb
from bot.render import esc
from core.models import Product, Store
from core.orders.money import format_money

PAGE_SIZE = 5
MAX_QUANTITY = 99


def _button(text: str, action: str, value: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=ShopCb(action=action, value=value).pack())


def pages(products: Sequence[Product]) -> int:
    return max(1, -(-len(products) // PAGE_SIZE))


def total(products: Sequence[Product], cart: dict[str, int]) -> int:
    prices = {product.id: product.price_minor for product in products}
    return sum(prices.get(int(pid), 0) * qty for pid, qty in cart.items())


def render(tr: Tr, store: Store, products: Sequence[Product], cart: dict[str, int],
           page: int) -> tuple[str, InlineKeyboardMarkup]:
    page = min(max(page, 0), pages(products) - 1)
    shown = products[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    by_id = {product.id: product for product in products}
    lines = [f"<b>{esc(store.name)}</b>", tr("Tap a product to add it to the cart."), ""]
    lines += [f"• {esc(p.name)} — {format_money(p.price_minor, p.currency)}"
              + (f"\n  <i>{esc(p.description)}</i>" if p.description else "") for p in shown]
    lines += ["", "🛒 " + tr("Cart:")]
    in_cart = [(by_id[int(pid)], qty) for pid, qty in cart.items() if int(pid) in by_id]
    lines += [f"{esc(p.name)} × {qty} = {format_money(p.price_minor * qty, p.currency)}" for p, qty in in_cart] or [
        tr("empty")]
    lines.append(tr("Total: {amount}", amount=format_money(total(products, cart), store.currency)))
    rows: list[list[InlineKeyboardButton]] = []
    for product in shown:
        row = [_button(f"➕ {product.name[:40]}", "add", product.id)]
        if product.photo or product.photo_key:
            row.append(_button("📷", "photo", product.id))
        rows.append(row)
    for product, qty in in_cart:
        rows.append([_button("➖", "dec", product.id), _button(f"{product.name[:24]} × {qty}", "inc", product.id),
                     _button("➕", "inc", product.id), _button("✖", "rm", product.id)])
    if pages(products) > 1:
        rows.append([_button("◀", "page", max(page - 1, 0)),
                     _button(f"{page + 1}/{pages(products)}", "page", page),
                     _button("▶", "page", min(page + 1, pages(products) - 1))])
    rows.append([_button(tr("✅ Checkout"), "checkout"), _button(tr("✖ Cancel"), "abort")])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def change(cart: dict[str, int], action: str, product_id: int) -> dict[str, int]:
    updated = dict(cart)
    key = str(product_id)
    if action in ("add", "inc"):
        updated[key] = min(updated.get(key, 0) + 1, MAX_QUANTITY)
    elif action == "dec":
        updated[key] = updated.get(key, 0) - 1
    elif action == "rm":
        updated[key] = 0
    return {pid: qty for pid, qty in updated.items() if qty > 0}
