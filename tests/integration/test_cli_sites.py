"""`desk site create`, in process against the test database: the sites are added to the store's widget
and the tag to paste is printed; mistakes are one line in the user's language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from core.models import Queue, Site
from tests.integration.test_cli_messages import cli_env, run  # noqa: F401
from tests.shop import new_store


async def test_site_create_adds_the_origins_and_prints_the_tag(cli_env: pytest.MonkeyPatch,  # noqa: F811
                                                                capsys: pytest.CaptureFixture[str],
                                                                database_url: str, sessions) -> None:
    store_id = await shop(cli_env, database_url, sessions)
    code, out, err = await _run(capsys, "site", "create", "--store", str(store_id), "--origin", "https://Shop.example/",
                                "--origin", "http://127.0.0.1:8001")
    assert (code, err) == (0, ""), err
    async with sessions() as session:
        widget = await session.scalar(select(Site).where(Site.store_id == store_id))
    assert widget is not None and widget.origins == ["http://127.0.0.1:8001", "https://shop.example"]
    assert out == (f'<script src="https://desk.example/widget.js" data-key="{widget.key}" async></script>\n'
                   "# sites: http://127.0.0.1:8001 https://shop.example\n")
    code, out, err = await _run(capsys, "site", "create", "--store", str(store_id), "--origin", "https://m.shop.example")
    assert code == 0 and out.splitlines()[1] == "# sites: http://127.0.0.1:8001 https://m.shop.example https://shop.example"

    refusals = {("site", "create", "--store", "999999", "--origin", "https://a.example"): "There is no store 999999.",
                ("site", "create", "--store", str(store_id), "--origin", "ftp://a.example"):
                    "not an origin (scheme://host[:port])"}
    for argv, says in refusals.items():
        assert await _run(capsys, *argv) == (1, "", f"desk: {says}\n"), argv
    cli_env.setenv("LANG", "ru_RU.UTF-8")
    assert (await _run(capsys, "site", "create", "--store", str(store_id), "--origin", "shop"))[2] == (
        "desk: это не адрес сайта (схема://хост[:порт])\n")
    code, _, err = await _run(capsys, "site", "create", "--store", str(store_id))
    assert code == 2 and re.search(r"--origin", err)


async def shop(env: pytest.MonkeyPatch, database_url: str, sessions: Any) -> int:
    """A store, and the CLI's environment: the test database, the desk's public origin, the widget on."""
    env.setenv("DATABASE_URL", database_url)
    env.setenv("WEB_PUBLIC_ORIGIN", "https://desk.example")
    env.setenv("WIDGET_ENABLED", "true")
    return await new_store(sessions)


async def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """desk.main runs its own event loop: off this test's loop, in a thread."""
    import asyncio

    return await asyncio.to_thread(run, capsys, *argv)


async def test_site_create_with_a_name_makes_a_new_site_and_list_shows_it(cli_env: pytest.MonkeyPatch,  # noqa: F811
                                                                           capsys: pytest.CaptureFixture[str],
                                                                           database_url: str, sessions) -> None:
    store_id = await shop(cli_env, database_url, sessions)
    code, out, err = await _run(capsys, "site", "create", "--name", "Help centre", "--origin", "https://help.example",
                                "--origin", "https://faq.example", "--queue", "Billing", "--prechat", "optional")
    assert (code, err) == (0, ""), err
    async with sessions() as session:
        site = await session.scalar(select(Site).where(Site.name == "Help centre"))
        billing = await session.scalar(select(Queue.id).where(Queue.slug == "billing"))
    assert site is not None and (site.store_id, site.queue_id, site.prechat) == (None, billing, "optional")
    assert out == (f'<script src="https://desk.example/widget.js" data-key="{site.key}" async></script>\n'
                   "# sites: https://faq.example https://help.example\n"
                   f"# site {site.id}: Help centre (key {site.key})\n")
    code, out, err = await _run(capsys, "site", "create", "--name", "Mobile", "--store", str(store_id),
                                "--origin", "https://m.shop.example", "--queue", str(billing))
    assert (code, err) == (0, ""), err
    code, out, _ = await _run(capsys, "site", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "id\tname\tkey\tstore\tqueue\tprechat\torigins"
    assert lines[1].split("\t")[1:] == ["Help centre", site.key, "-", str(billing), "optional",
                                        "https://faq.example https://help.example"]
    assert lines[2].split("\t")[1] == "Mobile" and lines[2].split("\t")[3:5] == [str(store_id), str(billing)]

    refusals = {("--name", "X", "--origin", "https://a.example", "--queue", "nope"): "There is no queue nope.",
                ("--name", "X", "--store", "999999", "--origin", "https://a.example"): "There is no store 999999.",
                ("--name", "X", "--origin", "https://a.example/page"): "not an origin (scheme://host[:port])",
                ("--name", " ", "--origin", "https://a.example"): "a name is 1 to 100 characters"}
    for argv, says in refusals.items():
        assert await _run(capsys, "site", "create", *argv) == (1, "", f"desk: {says}\n"), argv
    code, _, err = await _run(capsys, "site", "create", "--origin", "https://a.example")
    assert code == 1 and "--name" in err
