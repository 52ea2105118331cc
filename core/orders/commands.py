"""`desk store ...`: manage stores from the command line (create, products, invites, API token,
reminder delays). Parsing lives here; desk.py only opens the database and prints the answer."""

from __future__ import annotations

import argparse
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput
from core.orders import staff, stores
from core.orders.money import exponent


def add_store_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    store = commands.add_parser("store", help="manage stores (partners): create, products, invites, API token")
    actions = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a store")
    create.add_argument("--name", required=True)
    create.add_argument("--currency", default="RUB")
    create.add_argument("--time-zone", default="UTC", help="IANA name, e.g. Europe/Moscow (bookings, alert times)")
    invite = actions.add_parser("invite", help="print a single-use staff invite link (t.me deep link)")
    invite.add_argument("--store", type=int, required=True)
    invite.add_argument("--hours", type=float, default=48.0, help="link lifetime (default 48)")
    token = actions.add_parser("token", help="issue a new API token for the store's website (old one stops)")
    token.add_argument("--store", type=int, required=True)
    product = actions.add_parser("product", help="add a product")
    product.add_argument("--store", type=int, required=True)
    product.add_argument("--name", required=True)
    product.add_argument("--price", required=True, help="in major units, e.g. 550.00")
    product.add_argument("--description", default="")
    product.add_argument("--photo", default=None, help="an image URL or Telegram file id")
    reminders = actions.add_parser("reminders", help="set the store's reminder and escalation delays (minutes)")
    reminders.add_argument("--store", type=int, required=True)
    reminders.add_argument("--remind", type=int, required=True)
    reminders.add_argument("--escalate", type=int, required=True)


def to_minor(price: str, currency: str) -> int:
    try:
        value = Decimal(price.replace(",", "."))
    except InvalidOperation:
        raise InvalidInput("price is not a number", field="price") from None
    minor = value * 10 ** exponent(currency)
    if minor != minor.to_integral_value() or minor < 0:
        raise InvalidInput("price has too many decimals or is negative", field="price")
    return int(minor)


async def run_store_command(session: AsyncSession, args: argparse.Namespace, bot_username: str | None) -> str:
    """Runs in the caller's transaction and returns what to print."""
    action = args.store_command
    if action == "create":
        store = await stores.create_store(session, name=args.name, currency=args.currency,
                                          time_zone=args.time_zone)
        return f"store {store.id} created: {store.name} ({store.currency}, {store.time_zone})"
    if action == "invite":
        if not bot_username:
            raise InvalidInput("set TELEGRAM_BOT_USERNAME (or TELEGRAM_BOT_TOKEN) to build the link")
        token = await staff.create_invite(session, args.store, ttl=timedelta(hours=args.hours))
        return staff.deep_link(bot_username, token)
    if action == "token":
        return await stores.issue_api_token(session, args.store)
    if action == "product":
        store = await stores.get_store(session, args.store)
        product = await stores.add_product(session, store_id=store.id, name=args.name,
                                           price_minor=to_minor(args.price, store.currency),
                                           description=args.description, photo=args.photo)
        return f"product {product.id} added to store {store.id}"
    store = await stores.set_reminders(session, args.store, remind_after=args.remind, escalate_after=args.escalate)
    return (f"store {store.id}: remind after {store.remind_after_minutes} min, "
            f"escalate after {store.escalate_after_minutes} min")
