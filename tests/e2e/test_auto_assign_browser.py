"""Auto-assignment in Chromium: an admin turns it on in the Queues page, two operators have their inboxes
open, the desk allows one open ticket each (AUTO_ASSIGN_MAX_OPEN=1), three customers write, and each
operator sees one ticket become theirs live (the third waits unassigned), with the desk's assignment in
the ticket's history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.models import Queue, QueueMember, Ticket
from tests.e2e.test_shift_browser import LAPTOP, PHONE, fits, signed_in
from tests.web.harness import Panel, customer_ticket, make_operator, start_panel

pytestmark = pytest.mark.browser


@pytest.fixture
async def capped_panel(database_url: str, sessions: Any, tmp_path: Path) -> AsyncIterator[Panel]:
    running = await start_panel(database_url, tmp_path / "panel", {"auto_assign_max_open": 1}, ws_heartbeat=5.0)
    yield running
    await running.close()


async def test_two_operators_each_get_one_ticket_live(browser: Any, capped_panel: Panel, sessions: Any,
                                                     artifacts_dir: Path) -> None:
    panel = capped_panel
    await make_operator(sessions, "lead@example.com", role="admin")
    anna = await make_operator(sessions, "anna@example.com")
    boris = await make_operator(sessions, "boris@example.com")
    async with sessions() as session, session.begin():
        general = await session.scalar(select(Queue.id).where(Queue.slug == "general"))
        session.add_all([QueueMember(queue_id=general, operator_id=op) for op in (anna, boris)])

    lead = await signed_in(browser, panel, "lead@example.com", LAPTOP)
    await lead.goto(panel.url("/admin/queues"))
    switch = lead.locator(f"tr[data-queue-id='{general}'] input.auto-assign")
    assert not await switch.is_checked()  # off by default
    await switch.check()
    await lead.locator("#admin-notice", has_text="Saved").wait_for()
    async with sessions() as session:
        assert await session.scalar(select(Queue.auto_assign).where(Queue.id == general)) is True
    await lead.screenshot(path=str(artifacts_dir / "auto-assign-queues.png"), full_page=True)
    await lead.context.close()
    phone = await signed_in(browser, panel, "lead@example.com", PHONE)  # the added column fits a phone
    await phone.goto(panel.url("/admin/queues"))
    await phone.locator(f"tr[data-queue-id='{general}'] input.auto-assign:checked").wait_for()
    await fits(phone, "queues phone")
    await phone.screenshot(path=str(artifacts_dir / "auto-assign-queues-phone.png"), full_page=True)
    await phone.context.close()

    pages = {anna: await signed_in(browser, panel, "anna@example.com", LAPTOP),
             boris: await signed_in(browser, panel, "boris@example.com", PHONE)}
    # two customers write through the desk's own sessions (AUTO_ASSIGN_MAX_OPEN=1)
    first, _ = await customer_ticket(panel.desk.sessions, user_id=2100, name="Vera", body="Talk to a human")
    second, _ = await customer_ticket(panel.desk.sessions, user_id=2101, name="Gleb", body="Talk to a human")
    third, _ = await customer_ticket(panel.desk.sessions, user_id=2102, name="Ilya", body="Talk to a human")

    async with sessions() as session:
        found = await session.scalars(select(Ticket).where(Ticket.id.in_([first, second, third])))
        owners = {t.id: t.assignee_id for t in found if t.id != third}
        assert (await session.get(Ticket, third)).assignee_id is None  # both at the cap: it waits
    assert sorted(owners.values()) == [anna, boris]  # one each
    for operator, page in pages.items():
        mine = next(ticket for ticket, owner in owners.items() if owner == operator)
        theirs = next(ticket for ticket in owners if ticket != mine)
        await page.locator(f"tr[data-ticket-id='{mine}'] .assignee", has_text="Yours").wait_for()
        other = page.locator(f"tr[data-ticket-id='{theirs}'] .assignee")
        await other.wait_for()
        assert "Yours" not in (await other.text_content() or "")
        await page.locator(f"tr[data-ticket-id='{third}'] .assignee", has_text="Unassigned").wait_for()
        await page.screenshot(path=str(artifacts_dir / f"auto-assign-inbox-{operator}.png"), full_page=True)

    page = pages[anna]
    mine = next(ticket for ticket, owner in owners.items() if owner == anna)
    await page.goto(panel.url(f"/tickets/{mine}"))
    auto = page.locator("#history li[data-action=assignee_id][data-via=auto]")
    await auto.wait_for()
    assert await auto.locator(".history-text").text_content() == "You got the ticket automatically"
    for page in pages.values():
        await page.context.close()
