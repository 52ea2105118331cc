"""`desk demo [--force]`: fill an empty desk with the demo shop (core.demo) and say how to try it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.errors import Voice
from cli.session import DatabaseFactory, sessions_of
from core.demo import Demo, cast, fill_demo
from core.i18n import N_
from core.sandbox_users import add_users, state_path
from core.settings import Settings

COMMANDS = ("demo",)
READY = N_("The demo desk is ready: {articles} knowledge-base articles (en, ru); business hours on the queues "
           "{queues}; the store «{store}» with {products} products and its partner {partner}; {tickets} tickets; "
           "{orders} orders.")
PASSWORD = N_("Operator account: {email}, password: {password} (shown only this once).")
KEPT = N_("Operator account: {email} (made by an earlier run; its password is unchanged).")
REAL_TELEGRAM = N_("This desk's bot talks to the real Telegram (TELEGRAM_BOT_TOKEN is set): the demo's partner "
                   "and customers are sandbox users, so messages to them fail there. TELEGRAM_SANDBOX=1 runs the "
                   "sandbox instead.")
NEXT = N_("Run `desk run`, sign in at {origin}/login and open {origin}/sandbox: the partner and the customers "
          "are sandbox users there.")


def add_commands(commands: Any) -> None:
    demo = commands.add_parser("demo", help="fill an empty desk with a demo shop to try in the sandbox")
    demo.add_argument("--force", action="store_true", help="add the demo even where the desk has data of its own")


async def run(settings: Settings, args: argparse.Namespace, database: DatabaseFactory, voice: Voice) -> None:
    from desk import file_store  # the composition root picks the store; imported late (it imports cli)

    async with sessions_of(settings, database) as sessions, sessions() as session, session.begin():
        storage = file_store(settings, sessions)
        demo = await fill_demo(session, storage, voice.translator, language=voice.language, force=args.force)
        # Before the commit: a running desk's bot may write to the partner as soon as the orders exist.
        add_users(state_path(settings.desk_data_dir), cast.sandbox_users(voice.language))
    for line in lines(demo, voice, settings.origin):
        print(line)
    if settings.bot_enabled and not settings.sandbox_wanted:
        print(voice(REAL_TELEGRAM), file=sys.stderr)


def lines(demo: Demo, voice: Voice, origin: str) -> list[str]:
    said = [voice(READY, articles=demo.articles, queues=", ".join(demo.queues), store=demo.store,
                  products=demo.products, partner=demo.partner, tickets=demo.tickets, orders=demo.orders)]
    if demo.operator_password:
        said.append(voice(PASSWORD, email=demo.operator_email, password=demo.operator_password))
    else:
        said.append(voice(KEPT, email=demo.operator_email))
    said.append(voice(NEXT, origin=origin))
    return said
