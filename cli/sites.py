"""`desk site create` and `desk site list`: the websites that embed the chat widget (the same as the
panel's *Sites* page; admins renew keys and secrets there or through the API).

`desk site create --name N --origin URL [...]` makes a new site (of a store with `--store`, else the
desk's own) and prints its tag; `--store ID` without `--name` adds the origins to the store's first
site (made on first ask, named after the store), as before sites were their own rows."""

from __future__ import annotations

import argparse
from typing import Any

from cli.session import DatabaseFactory, sessions_of
from core.errors import InvalidInput
from core.i18n import N_
from core.models import PRECHAT_MODES, Site
from core.orders import stores
from core.services import sites as site_service
from core.services.widgets import configure_widget, widget_of
from core.settings import Settings

COMMANDS = ("site",)
NAME_OR_STORE = N_("give --name (a new site) or --store (the store's first site)")


def add_commands(commands: Any) -> None:
    site = commands.add_parser("site", help="the websites that embed the chat widget")
    actions = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a website that may embed the chat widget; prints the tag")
    create.add_argument("--name", help="a new site's name (without it: the store's first site, see --store)")
    create.add_argument("--store", type=int, help="the store whose site it is (none: the desk's own)")
    create.add_argument("--origin", action="append", required=True,
                        help="an origin allowed to embed it, scheme://host[:port]; repeat for more")
    create.add_argument("--queue", help="where its tickets go: a queue's id, slug or name")
    create.add_argument("--prechat", choices=PRECHAT_MODES, help="the form before the first message")
    actions.add_parser("list", help="every site: id, name, key, store, queue, pre-chat form, origins")


async def run(settings: Settings, args: argparse.Namespace, database: DatabaseFactory) -> None:
    async with sessions_of(settings, database) as sessions, sessions() as session, session.begin():
        print(await perform(session, settings, args))


async def perform(session: Any, settings: Settings, args: argparse.Namespace) -> str:
    if args.site_command == "list":
        return await _list(session)
    if args.store is not None:
        await stores.get_store(session, args.store)  # "There is no store N." in the user's language
    queue_id = (await site_service.find_queue(session, args.queue)).id if args.queue else None
    if args.name is None:
        if args.store is None:
            raise InvalidInput(NAME_OR_STORE)
        site = await _store_site(session, args, queue_id)
        extra = ""
    else:
        site = await site_service.create_site(session, site_service.SiteSettings(
            name=args.name, origins=args.origin, store_id=args.store, queue_id=queue_id, prechat=args.prechat))
        extra = f"\n# site {site.id}: {site.name} (key {site.key})"
    return (f'<script src="{settings.origin}/widget.js" data-key="{site.key}" async></script>\n'
            f"# sites: {' '.join(site.origins)}" + extra
            + ("" if settings.widget_enabled else "\n# WIDGET_ENABLED is not set: this desk does not serve it yet"))


async def _store_site(session: Any, args: argparse.Namespace, queue_id: int | None) -> Site:
    """Adds the origins to the store's first site (an origin already listed stays: pages embedding it
    keep working)."""
    site = await widget_of(session, args.store)
    site = await configure_widget(session, args.store, [*site.origins, *args.origin])
    if queue_id is not None or args.prechat is not None:
        site = await site_service.update_site(session, site.id, site_service.SiteSettings(
            queue_id=queue_id, prechat=args.prechat))
    return site


async def _list(session: Any) -> str:
    rows = ["id\tname\tkey\tstore\tqueue\tprechat\torigins"]
    for site in await site_service.list_sites(session):
        rows.append("\t".join(str(value) for value in (
            site.id, site.name, site.key, site.store_id or "-", site.queue_id or "-", site.prechat,
            " ".join(site.origins) or "-")))
    return "\n".join(rows)
