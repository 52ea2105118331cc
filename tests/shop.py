"""A shop that embeds the website chat, for the tests: its store and site, and its own page on another
loopback origin carrying the desk's script tag (`shop_site` in tests/e2e/test_widget_browser.py serves it)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Site
from core.orders import stores
from core.services.widgets import configure_widget
from tests.web.harness import Panel

ShopSite = tuple[TestServer, dict[str, str]]  # the shop's server and its page's html (key "html")


async def new_store(sessions: async_sessionmaker[AsyncSession], name: str = "Corner shop") -> int:
    async with sessions() as session, session.begin():
        return (await stores.create_store(session, name=name)).id


async def store_site(sessions: async_sessionmaker[AsyncSession], origins: list[str], name: str = "Corner shop",
                     **look: Any) -> Site:
    """A new store with its website chat allowed on `origins` (and `look`: greeting, color, ...)."""
    async with sessions() as session, session.begin():
        store = await stores.create_store(session, name=name)
        return await configure_widget(session, store.id, origins, **look)


def origin_of(shop: ShopSite) -> str:
    return f"http://127.0.0.1:{shop[0].port}"


def widget_tag(desk: Panel, key: str, language: str = "en", key_attribute: str = "data-key",
               attributes: str = "") -> str:
    """The script tag a shop pastes (`attributes`: more of them, each with its leading space)."""
    return (f'<script src="{desk.url("/widget.js")}" {key_attribute}="{key}" data-lang="{language}"{attributes} '
            "async></script>")


def show(shop: ShopSite, body: str, head: str = "", heading: str = "Corner shop", lang: str = "") -> str:
    """The shop's page from now on: `head`, a heading and `body` (the widget's tag); the shop's origin."""
    html_tag = f'<html lang="{lang}">' if lang else "<html>"
    head_tag = f"<head>{head}</head>" if head else ""
    shop[1]["html"] = f"<!doctype html>{html_tag}{head_tag}<body><h1>{heading}</h1>{body}</body></html>"
    return origin_of(shop)
