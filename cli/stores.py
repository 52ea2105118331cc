"""`desk store ...`: stores (partners) from the command line: create, products, invites, API token,
reminder delays. Only `invite` needs Telegram, for the bot's username in the link."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cli import arguments
from cli.errors import Voice
from cli.session import DatabaseFactory, sessions_of
from cli.telegram import bot_username
from core.errors import InvalidInput
from core.i18n import N_
from core.orders import staff, stores
from core.orders.money import exponent
from core.settings import Settings

NO_USERNAME = N_("No bot username is known (set TELEGRAM_BOT_USERNAME or TELEGRAM_BOT_TOKEN): "
                 "the partner sends the line above to the bot.")
TELEGRAM_SILENT = N_("Telegram did not tell the bot's username (is it reachable?): "
                     "the partner sends the line above to the bot.")


def add_commands(commands: Any, voice: Voice) -> None:
    store = commands.add_parser("store", help="manage stores (partners): create, products, invites, API token")
    actions = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a store")
    create.add_argument("--name", required=True)
    create.add_argument("--currency", default="RUB")
    create.add_argument("--time-zone", default="UTC", help="IANA name, e.g. Europe/Moscow (bookings, alert times)")
    invite = actions.add_parser("invite", help="print a single-use staff invite link (t.me deep link)")
    invite.add_argument("--store", type=int, required=True)
    invite.add_argument("--hours", type=arguments.hours(voice), default=48.0, help="link lifetime (default 48)")
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
        raise InvalidInput(N_("The price is not a number."), field="price") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(N_("The price has too many decimals or is negative."), field="price")
    minor = value * 10 ** exponent(currency)
    if minor != minor.to_integral_value():
        raise InvalidInput(N_("The price has too many decimals or is negative."), field="price")
    return int(minor)


async def run(settings: Settings, args: argparse.Namespace, database: DatabaseFactory, voice: Voice) -> None:
    async with sessions_of(settings, database) as sessions, sessions() as session, session.begin():
        answer = await perform(session, args)
    if args.store_command != "invite":
        print(answer)
        return
    username = await bot_username(settings)  # after the commit: no transaction waits on Telegram
    if username:
        print(staff.deep_link(username, answer))
        return
    print(f"/start {staff.start_payload(answer)}")
    print(voice(TELEGRAM_SILENT if settings.bot_enabled else NO_USERNAME), file=sys.stderr)


async def perform(session: AsyncSession, args: argparse.Namespace) -> str:
    """Runs in the caller's transaction and returns what to print (for `invite`, the token)."""
    action = args.store_command
    if action == "create":
        store = await stores.create_store(session, name=args.name, currency=args.currency,
                                          time_zone=args.time_zone)
        return f"store {store.id} created: {store.name} ({store.currency}, {store.time_zone})"
    if action == "invite":
        return await staff.create_invite(session, args.store, ttl=timedelta(hours=args.hours))
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
