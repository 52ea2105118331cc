"""`desk kb import FILE`, `desk kb export FILE`, `desk operator link --email E`."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from tqdm import tqdm

from cli.telegram import bot_username
from core.channels import ChannelRegistry
from core.db import create_engine, create_session_factory
from core.kb.transfer import export_articles, import_in_parts, read_articles
from core.models import Operator
from core.services.operator_link import PREFIX, create_link_token, deep_link
from core.settings import Settings

COMMANDS = ("kb",)  # and `operator link` (the `operator` command is cli/accounts.py's)
DatabaseFactory = Callable[[Settings], contextlib.AbstractAsyncContextManager[Any]]


def add_commands(commands: Any) -> None:
    kb = commands.add_parser("kb", help="knowledge base: import or export articles")
    kb_actions = kb.add_subparsers(dest="kb_command", required=True, metavar="ACTION")
    imp = kb_actions.add_parser("import", help="import articles from a .json file or a folder of .md files")
    imp.add_argument("path", type=Path)
    exp = kb_actions.add_parser("export", help="export articles to a .json file or a folder of .md files")
    exp.add_argument("path", type=Path)


def add_link_command(operator_actions: Any) -> None:
    """`desk operator link` (the `operator` command itself is cli/accounts.py's)."""
    link = operator_actions.add_parser("link", help="print a one-time link that connects an operator's Telegram")
    link.add_argument("--email", required=True)


async def run(settings: Settings, args: argparse.Namespace, database: DatabaseFactory) -> None:
    from core.migrate import upgrade

    async with database(settings) as db:
        url = getattr(db, "direct_url", db.url)  # one-off commands go to the server itself, not a pooler
        await upgrade(url)
        engine = create_engine(url, pool_size=1)
        try:
            sessions = create_session_factory(engine, channels=_channels(settings))
            if args.command == "kb" and args.kb_command == "import":
                items = read_articles(args.path)
                with tqdm(total=len(items), unit="article", desc="import") as bar:
                    created, updated = await import_in_parts(sessions, items, bar.update)
                print(f"imported {len(items)} articles: {created} new, {updated} updated")
            elif args.command == "kb" and args.kb_command == "export":
                with tqdm(unit="article", desc="export") as bar:
                    async with sessions() as session:
                        total = await export_articles(session, args.path, bar.update)
                print(f"exported {total} articles to {args.path}")
            elif args.command == "operator" and args.operator_command == "link":
                await _link(settings, sessions, args.email)
        finally:
            await engine.dispose()


async def _link(settings: Settings, sessions: Any, email: str) -> None:
    from core.errors import NotFound

    async with sessions() as session, session.begin():
        operator_id = await session.scalar(select(Operator.id).where(func.lower(Operator.email) == email.lower()))
        if operator_id is None:
            raise NotFound("operator", email=email)
        token = await create_link_token(session, operator_id)
    username = await bot_username(settings)
    if username:
        print(deep_link(username, token))
    else:
        print(f"send this to the bot: /start {PREFIX}{token}")
    print("the link works once, for 24 hours")


def _channels(settings: Settings) -> ChannelRegistry:
    from desk import build_channels  # the composition root lists the adapters; imported late (it imports cli)

    return build_channels(settings)
