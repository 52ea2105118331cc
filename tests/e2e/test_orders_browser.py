"""Orders in Chromium: a partner's live board (new orders appear, buttons move them, a reason is asked
for a cancel, another member's move shows up) and an admin setting up a store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.models import BusinessHours, Operator, Order, Product, SlaPolicy, StoreMember
from core.orders import stores
from core.orders.actors import for_operator
from core.orders.staff import add_panel_member
from core.orders.transitions import change_status
from tests.e2e.test_panel_browser import signed_in_page, texts, until
from tests.images import png
from tests.web import harness
from tests.web.harness import Panel, make_operator

pytestmark = pytest.mark.browser


async def website_order(panel: Panel, token: str, product_id: int, key: str, name: str = "Maria") -> int:
    order = await harness.website_order(panel, token, product_id, key, kind="delivery", address="Nevsky 10",
                                        customer_name=name)
    return int(order["id"])


async def status_of(sessions: Any, order_id: int) -> tuple[str, str | None]:
    async with sessions() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return order.status, order.reason


async def test_a_partner_works_the_live_board(browser: Any, panel: Panel, sessions: Any, artifacts_dir: Path) -> None:
    partner_id = await make_operator(sessions, "roma@example.com", role="partner")
    staff_id = await make_operator(sessions, "olga@example.com")
    async with sessions() as session, session.begin():
        roma = await stores.create_store(session, name="Pizza Roma")
        sushi = await stores.create_store(session, name="Sushi Bar")
        pizza = await stores.add_product(session, store_id=roma.id, name="Margherita", price_minor=55000)
        maki = await stores.add_product(session, store_id=sushi.id, name="Maki", price_minor=30000)
        roma_token = await stores.issue_api_token(session, roma.id)
        sushi_token = await stores.issue_api_token(session, sushi.id)
        await add_panel_member(session, roma.id, partner_id, actor_id=None)

    page = await signed_in_page(browser, panel, "roma@example.com", "/orders")
    assert await texts(page, "nav a") == ["Orders", "API tokens"]
    renders = int(await page.evaluate("Number(document.body.dataset.boardRenders || 0)"))

    first = await website_order(panel, roma_token, pizza.id, "1", name='<img src=x onerror="window.pwned=1">')
    other = await website_order(panel, sushi_token, maki.id, "2")
    card = page.locator(f"[data-cards=pending] [data-order-id='{first}']")
    await card.wait_for()
    assert "2× Margherita" in await card.inner_text()
    assert '<img src=x onerror="window.pwned=1">' in await card.inner_text()  # text, never markup
    assert await page.evaluate("window.pwned === undefined")
    assert await page.locator(f"[data-order-id='{other}']").count() == 0  # another store's order
    assert int(await page.evaluate("Number(document.body.dataset.boardRenders || 0)")) > renders

    # Accept: the card moves to "preparing", the phone and address are shown now.
    await card.locator("button[data-action=preparing]").click()
    moved = page.locator(f"[data-cards=preparing] [data-order-id='{first}']")
    await moved.wait_for()
    assert "Nevsky 10" in await moved.inner_text()
    await website_order(panel, roma_token, pizza.id, "shot", name="Ivan")
    await page.locator("[data-count=pending]", has_text="1").wait_for()
    await page.screenshot(path=str(artifacts_dir / "orders-board.png"), full_page=True)
    assert await status_of(sessions, first) == ("preparing", None)

    # Someone else (an operator in another window) marks it ready: the board follows live.
    async with sessions() as session, session.begin():
        operator = await session.get(Operator, staff_id)
        assert operator is not None
        await change_status(session, panel.desk.translator, order_id=first, new_status="ready",
                            actor=await for_operator(session, operator))
    await page.locator(f"[data-cards=ready] [data-order-id='{first}']").wait_for()

    # Cancel asks for a reason first; then the card leaves the board.
    ready = page.locator(f"[data-cards=ready] [data-order-id='{first}']")
    await ready.locator("button[data-action=cancelled]").click()
    assert await status_of(sessions, first) == ("ready", None)
    await ready.locator(".reason-form input").fill("Oven broke")
    await ready.locator(".reason-form button").click()
    await until(page, f"!document.querySelector(\"[data-order-id='{first}']\")")
    assert await status_of(sessions, first) == ("cancelled", "Oven broke")
    assert await page.locator("[data-count=pending]").inner_text() == "1"  # Ivan's order is still waiting

    # A stale button (the order moved meanwhile) explains itself and changes nothing.
    second = await website_order(panel, roma_token, pizza.id, "3")
    stale = page.locator(f"[data-cards=pending] [data-order-id='{second}']")
    await stale.wait_for()
    await page.evaluate("window.deskLive.handlers.splice(0)")  # the board stops following: its buttons go stale
    async with sessions() as session, session.begin():
        operator = await session.get(Operator, staff_id)
        assert operator is not None
        await change_status(session, panel.desk.translator, order_id=second, new_status="rejected",
                            reason="Closed", actor=await for_operator(session, operator))
    await stale.locator("button[data-action=preparing]").click()
    await until(page, "document.querySelector('#admin-notice').textContent.includes('Rejected')")
    assert await status_of(sessions, second) == ("rejected", "Closed")
    await until(page, f"!document.querySelector(\"[data-order-id='{second}']\")")  # reloaded after the refusal


async def test_an_admin_sets_up_a_store_in_russian(
    browser: Any, panel: Panel, sessions: Any, artifacts_dir: Path
) -> None:
    await make_operator(sessions, "root@example.com", role="admin", language="ru")
    partner_id = await make_operator(sessions, "roma@example.com", role="partner")
    page = await signed_in_page(browser, panel, "root@example.com", "/inbox")
    await page.goto(panel.url("/admin/stores"))
    await page.fill("#store-form input[name=name]", "Пицца Рома")
    await page.click("#store-form button[type=submit]")
    store = page.locator(".store", has_text="Пицца Рома")
    await store.wait_for()
    await store.locator(".product-form input[name=name]").fill("Маргарита")
    await store.locator(".product-form input[name=price]").fill("550.50")
    await store.locator(".product-form button").click()
    await page.locator(".store [data-product-id]", has_text="Маргарита").wait_for()
    assert "550,50" in await page.locator(".store [data-product-id]").inner_text()
    await page.locator(".store [data-product-id] input.photo-input").set_input_files(
        files=[{"name": "margherita.png", "mimeType": "image/png", "buffer": png(8, 8)}])
    await until(page, "document.querySelector('.store [data-product-id] img.thumb')?.naturalWidth === 8")
    assert "Заменить фото" in await page.locator(".store [data-product-id]").inner_text()

    await page.locator(".store button", has_text="Ссылка-приглашение для партнёра").click()
    await until(page, "document.querySelector('#admin-notice').textContent.includes('/start partner_')")
    assert "Одноразовая ссылка" in await page.locator("#admin-notice").inner_text()

    await page.locator(".store select").select_option(str(partner_id))
    await page.locator(".store button", has_text="Дать доступ к магазину").click()
    await page.locator(".store .members li", has_text="Roma").wait_for()
    await page.screenshot(path=str(artifacts_dir / "stores.png"), full_page=True)

    async with sessions() as session:
        product = await session.scalar(select(Product))
        member = await session.scalar(select(StoreMember).where(StoreMember.operator_id == partner_id))
    assert product is not None and (product.name, product.price_minor) == ("Маргарита", 55050)
    assert product.photo_key is not None and product.photo is None  # Telegram gets it on the first show
    assert member is not None and member.store_id == product.store_id


async def test_an_admin_edits_sla_policies_and_business_hours(browser: Any, panel: Panel, sessions: Any) -> None:
    await make_operator(sessions, "root@example.com", role="admin")
    olga = await make_operator(sessions, "olga@example.com")
    page = await signed_in_page(browser, panel, "root@example.com", "/inbox")
    await page.goto(panel.url("/admin/sla"))
    row = page.locator("tr[data-priority=high]")
    await row.wait_for()
    inputs = row.locator("input")
    await inputs.nth(0).fill("30")
    await inputs.nth(1).fill("300")
    await row.locator("button").first.click()
    await until(page, "document.querySelector('tr[data-priority=high] button.link') !== null")
    await page.fill("#hours-form input[name=time_zone]", "Europe/Moscow")
    await page.fill("#hours-form input[name=mon]", "09:00-13:00, 14:00-18:00")
    await page.fill("#hours-form input[name=fri]", "10:00-25:00")
    await page.click("#hours-form button[type=submit]")
    await until(page, "document.querySelector('#admin-notice').textContent.includes('weekly')")
    await page.fill("#hours-form input[name=fri]", "10:00-16:00")
    await page.fill("#hours-form textarea[name=holidays]", "2026-12-31 New Year's Eve")
    await page.click("#hours-form button[type=submit]")
    await until(page, "document.querySelector('#admin-notice').textContent === 'Saved.'")
    await page.check(f"#member-boxes input[value='{olga}']")
    await page.click("#members-form button[type=submit]")
    queue_id = int(await page.eval_on_selector("#hours-queue", "select => select.value"))
    async with sessions() as session:
        policy = await session.get(SlaPolicy, "high")
        hours = await session.get(BusinessHours, queue_id)
    assert policy is not None and (policy.first_response_minutes, policy.resolution_minutes) == (30, 300)
    assert hours is not None and hours.weekly == {"mon": [["09:00", "13:00"], ["14:00", "18:00"]],
                                                  "fri": [["10:00", "16:00"]]}
    await page.reload()
    await until(page, "document.querySelector('#hours-form input[name=fri]').value === '10:00-16:00'")
    await until(page, f"document.querySelector(\"#member-boxes input[value='{olga}']\")?.checked === true")


async def test_a_booking_shows_the_stores_local_time_next_to_the_viewers(
    browser: Any, panel: Panel, sessions: Any
) -> None:
    await make_operator(sessions, "olga@example.com")
    async with sessions() as session, session.begin():
        tokyo = await stores.create_store(session, name="Sushi Tokyo", time_zone="Asia/Tokyo")
        token = await stores.issue_api_token(session, tokyo.id)
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    booking = await harness.website_order(panel, token, 0, "book", kind="booking", items=[], party_size=4,
                                          scheduled_at=f"{day}T19:30")  # the store's local time
    page = await signed_in_page(browser, panel, "olga@example.com", "/inbox")
    await page.goto(panel.url("/orders"))
    card = page.locator(f"[data-order-id='{booking['id']}'] .scheduled")
    await card.wait_for()
    viewer = await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert viewer != "Asia/Tokyo"
    text = await card.inner_text()
    assert "7:30 PM at the store, Asia/Tokyo)" in text and text.endswith(" · 4"), text
    if viewer == "UTC":
        assert text.split(", ")[1].startswith("10:30 AM ("), text  # the viewer's own clock comes first

    # The operator picks a zone in the header: it is kept on the account and wins over the browser's.
    async with page.expect_navigation():  # the page reloads with the new zone
        await page.select_option("#time-zone", "Europe/Moscow")
    await card.wait_for()
    assert (await card.inner_text()).split(", ")[1].startswith("1:30 PM (")
    async with page.expect_navigation():
        await page.select_option("#time-zone", "Asia/Tokyo")
    await card.wait_for()
    assert "at the store" not in await card.inner_text()  # the store's clock is the viewer's now
    async with sessions() as session:
        olga = await session.scalar(select(Operator).where(Operator.email == "olga@example.com"))
    assert olga is not None and olga.time_zone == "Asia/Tokyo"


async def test_a_column_that_leaves_orders_out_says_so_and_refills(browser: Any, panel: Panel, sessions: Any) -> None:
    staff_id = await make_operator(sessions, "olga@example.com")
    shop = await harness.website_shop(sessions, "Busy Pizza")
    first = [await harness.website_order(panel, shop.token, shop.product_id, f"k{n}") for n in range(101)]
    page = await signed_in_page(browser, panel, "olga@example.com", "/inbox")
    await page.goto(panel.url("/orders"))
    note = page.locator("[data-more=pending]")
    await note.wait_for()
    assert await note.inner_text() == "Newer orders not shown yet: 1. They come in as these are done."
    assert await page.locator("[data-cards=pending] [data-order-id]").count() == 100
    assert await page.locator(f"[data-order-id='{first[100]['id']}']").count() == 0  # the newest waits

    async with sessions() as session, session.begin():  # the oldest is accepted elsewhere
        operator = await session.get(Operator, staff_id)
        assert operator is not None
        await change_status(session, panel.desk.translator, order_id=first[0]["id"], new_status="preparing",
                            actor=await for_operator(session, operator))
    await page.locator(f"[data-cards=preparing] [data-order-id='{first[0]['id']}']").wait_for()
    await page.locator(f"[data-cards=pending] [data-order-id='{first[100]['id']}']").wait_for()  # it came in
    assert await note.is_hidden()
