"""Every role in Chromium through the /sandbox phone view, against the desk's real bot polling its own
Bot API: a customer gets a demo knowledge-base answer and hands off, the operator answers from the
panel in another tab as a reply under the customer's message; a partner joins by an invite deep link,
a customer orders (product photo, phone shared from the reply keyboard), the partner accepts from the
alert, which changes in place while the live board moves the order; photo, edit and reply reach the
ticket; the open chats outlive a reload. Screenshots at desktop and phone sizes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.demo import cast, fill_demo
from core.i18n import load_translator
from core.models import Attachment, Message, Order, Ticket
from core.orders import photos, staff, stores
from core.sandbox_users import add_users
from tests.e2e.test_panel_browser import signed_in_page, ticket_id_of, until
from tests.images import png
from tests.sandbox.harness import SandboxDesk, start_sandbox_desk
from tests.waiting import eventually
from tests.web.harness import make_operator
from web.sandbox.app import SANDBOX

pytestmark = pytest.mark.browser
WAIT = 20_000  # ms: the bot's answers go through the outbox worker, slower on a loaded machine


@pytest.fixture
async def sandbox_desk(database_url: str, sessions: Any, tmp_path: Path) -> AsyncIterator[SandboxDesk]:
    running = await start_sandbox_desk(database_url, tmp_path, ws_heartbeat=5.0)
    yield running
    await running.close()


async def sandbox_page(browser: Any, desk: SandboxDesk, sessions: Any) -> Any:
    await make_operator(sessions, "kate@example.com")
    inbox = await signed_in_page(browser, desk.panel, "kate@example.com", "/inbox")
    page = await inbox.context.new_page()  # a tab of its own: the sandbox's prompts (share contact) are expected
    await inbox.close()
    await page.goto(desk.panel.url("/sandbox"))
    await until(page, "window.deskSandbox && window.deskSandbox.live === true")
    return page


async def new_user(page: Any, name: str, language: str = "en") -> Any:
    await page.fill("#sandbox-new-user input[name=first_name]", name)
    await page.select_option("#sandbox-new-user select[name=language]", language)
    await page.click("#sandbox-new-user button[type=submit]")
    phone = page.locator(".tg-phone", has=page.locator(".tg-head strong", has_text=name))
    await phone.wait_for()
    return phone


async def say(phone: Any, text: str) -> None:
    await phone.locator(".tg-input").fill(text)
    await phone.locator(".tg-send").click()


async def bot_line(phone: Any, text: str) -> Any:
    found = phone.locator(".tg-in", has_text=text).last
    await found.wait_for(timeout=WAIT)
    return found


async def hand_off(phone: Any, human_in: Any) -> None:
    await human_in.locator("button.tg-button", has_text="human").click()
    topics = await bot_line(phone, "What is it about?")
    await topics.locator("button.tg-button", has_text="Something else").click()
    await bot_line(phone, "is open")


async def test_a_customer_gets_a_demo_answer_hands_off_and_the_panel_reply_threads_under_the_question(
        browser: Any, sandbox_desk: SandboxDesk, sessions: Any, artifacts_dir: Path) -> None:
    panel = sandbox_desk.panel
    async with sessions() as session, session.begin():
        await fill_demo(session, panel.desk.storage, load_translator(), language="en")
        add_users(panel.app[SANDBOX].state_path, cast.sandbox_users("en"))  # as `desk demo` does
    page = await sandbox_page(browser, sandbox_desk, sessions)
    phone = await new_user(page, "Lena")
    await say(phone, "How long does delivery take?")
    article = await bot_line(phone, "Delivery times and cost")
    assert await article.locator(".tg-text b").first.inner_text() == "Delivery times and cost"  # formatted
    await hand_off(phone, article)
    await say(phone, "My parcel is a week late")
    ticket_id = await ticket_id_of(sessions)

    operator = await page.context.new_page()  # the panel in another tab
    await operator.goto(panel.url(f"/tickets/{ticket_id}"))
    await operator.wait_for_selector("#conn-state[data-state=live]")
    question = operator.locator("li.msg.customer", has_text="a week late")
    await question.wait_for(timeout=WAIT)
    await question.locator("button.answer").click()
    assert "a week late" in await operator.locator("#replying-to").inner_text()
    await operator.fill("#reply-body", "Sorry, Lena! The courier brings it <b>today</b>.")
    await operator.click("#send")

    reply = await bot_line(phone, "The courier brings it")
    assert await reply.locator(".tg-quote").inner_text() == "My parcel is a week late"  # a reply, as in Telegram
    assert "<b>today</b>" in await reply.inner_text(), "the operator's text stays text"
    async with sessions() as session:
        sent = await session.scalar(select(Message).where(Message.body.like("Sorry, Lena%")))
        asked = await session.scalar(select(Message).where(Message.body == "My parcel is a week late"))
    assert sent is not None and asked is not None and sent.reply_to_id == asked.id

    await page.bring_to_front()
    await page.set_viewport_size({"width": 1366, "height": 768})
    await page.screenshot(path=str(artifacts_dir / "sandbox-1366x768.png"))
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.wait_for_timeout(200)
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    await page.screenshot(path=str(artifacts_dir / "sandbox-390x844.png"))
    assert overflow <= 0, f"the phone layout scrolls sideways by {overflow}px"


async def test_a_partner_joins_by_link_a_customer_orders_and_the_accept_edits_the_alert_and_moves_the_board(
        browser: Any, sandbox_desk: SandboxDesk, sessions: Any, artifacts_dir: Path) -> None:
    panel = sandbox_desk.panel
    async with sessions() as session, session.begin():
        store = await stores.create_store(session, name="Pizza Roma")
        pizza = await stores.add_product(session, store_id=store.id, name="Margherita", price_minor=55000)
        await photos.set_photo(session, sandbox_desk.bot.desk.storage, store.id, pizza.id,  # the bot sends it
                               png(64, 48, (200, 120, 40)), actor_id=None)
        token = await staff.create_invite(session, store.id)
    link = staff.deep_link(sandbox_desk.server.username, token)
    page = await sandbox_page(browser, sandbox_desk, sessions)
    rita = await new_user(page, "Rita")
    await rita.locator(".tg-deep").fill(link)  # as a partner taps the link in Telegram
    await rita.locator(".tg-start button").click()
    await bot_line(rita, "Pizza Roma")

    max_ = await new_user(page, "Max")
    await say(max_, "/start")
    menu = await bot_line(max_, "")
    await menu.locator("button.tg-button", has_text="Place an order").click()
    stores_list = await bot_line(max_, "Choose a store")
    await stores_list.locator("button.tg-button", has_text="Pizza Roma").click()
    cart = await bot_line(max_, "Tap a product")
    await cart.locator("button.tg-button", has_text="📷").click()
    await max_.locator(".tg-in img.tg-img").wait_for(timeout=WAIT)  # the product's photo, drawn as an image
    await cart.locator("button.tg-button", has_text="Margherita").first.click()
    await max_.locator(".tg-in", has_text="Margherita × 1").first.wait_for(timeout=WAIT)
    await cart.locator("button.tg-button", has_text="Checkout").click()
    await max_.locator(".tg-in button.tg-button", has_text="Delivery").click()
    await bot_line(max_, "delivery address")
    await say(max_, "Nevsky 10")
    page.once("dialog", lambda dialog: dialog.accept("+7 900 123-45-67"))
    await max_.locator(".tg-key", has_text="Share my phone number").click(timeout=WAIT)
    await max_.locator(".tg-out", has_text="+7 900 123-45-67").wait_for(timeout=WAIT)  # the shared contact
    comment = await bot_line(max_, "Any comment")
    await comment.locator("button.tg-button", has_text="Skip").click()
    summary = await bot_line(max_, "Please check your order")
    board = await page.context.new_page()
    await board.goto(panel.url("/orders"))
    await board.wait_for_selector("#conn-state[data-state=live]")
    await summary.locator("button.tg-button", has_text="Confirm").click()
    await bot_line(max_, "is placed")
    async with sessions() as session:
        order = await session.scalar(select(Order))
    assert order is not None and order.customer_phone.replace(" ", "").replace("-", "") == "+79001234567"

    alert = await bot_line(rita, f"Order #{order.id}")
    alert_id = await alert.get_attribute("data-message-id")
    await board.locator(f"[data-cards=pending] [data-order-id='{order.id}']").wait_for(timeout=WAIT)
    await alert.locator("button.tg-button", has_text="Accept").click()
    edited = rita.locator(f".tg-in[data-message-id='{alert_id}']", has_text="Accepted, preparing")
    await edited.wait_for(timeout=WAIT)  # the same message, edited in place
    assert "edited" in await edited.locator(".tg-meta").inner_text()
    assert await rita.locator(".tg-in", has_text=f"Order #{order.id}").count() == 1
    await board.locator(f"[data-cards=preparing] [data-order-id='{order.id}']").wait_for(timeout=WAIT)
    await bot_line(max_, "accepted")
    await page.bring_to_front()
    await page.set_viewport_size({"width": 1366, "height": 768})
    await page.screenshot(path=str(artifacts_dir / "sandbox-partner-and-customer-1366x768.png"))


async def test_photo_edit_and_reply_reach_the_ticket_and_open_chats_outlive_a_reload(
        browser: Any, sandbox_desk: SandboxDesk, sessions: Any) -> None:
    page = await sandbox_page(browser, sandbox_desk, sessions)
    phone = await new_user(page, "Nina")
    await say(phone, "/human")
    topics = await bot_line(phone, "What is it about?")
    await topics.locator("button.tg-button", has_text="Something else").click()
    await bot_line(phone, "is open")
    ticket_id = await ticket_id_of(sessions)

    await phone.locator(".tg-file").set_input_files({"name": "scratch.png", "mimeType": "image/png",
                                                     "buffer": png(40, 30, (10, 120, 200))})
    await phone.locator(".tg-out img.tg-img").wait_for(timeout=WAIT)
    await say(phone, "I ordered 2 cups")
    mine = phone.locator(".tg-out", has_text="I ordered 2 cups")
    await mine.wait_for()
    await mine.locator("button", has_text="Edit").click()
    await phone.locator(".tg-input").fill("I ordered 3 cups")
    await phone.locator(".tg-send").click()
    await phone.locator(".tg-out", has_text="I ordered 3 cups").wait_for()
    await phone.locator(".tg-out", has_text="I ordered 3 cups").locator("button", has_text="Reply").click()
    await say(phone, "and one teapot")
    await phone.locator(".tg-out .tg-quote", has_text="I ordered 3 cups").wait_for()

    async def stored() -> bool:
        async with sessions() as session:
            bodies = {m.body: m for m in await session.scalars(select(Message).where(Message.ticket_id == ticket_id))}
            images = await session.scalar(select(Attachment.id).join(Message).where(
                Message.ticket_id == ticket_id, Attachment.content_type.like("image/%")))
        edited, teapot = bodies.get("I ordered 3 cups"), bodies.get("and one teapot")
        return (images is not None and edited is not None and teapot is not None
                and teapot.reply_to_id == edited.id and "I ordered 2 cups" not in bodies)
    await eventually(stored, timeout=20)

    await page.reload()
    await until(page, "window.deskSandbox && window.deskSandbox.live === true")
    again = page.locator(".tg-phone", has=page.locator(".tg-head strong", has_text="Nina"))
    await again.locator(".tg-out", has_text="and one teapot").wait_for(timeout=WAIT)
    assert await again.locator(".tg-out img.tg-img").count() == 1
    async with sessions() as session:
        assert (await session.get(Ticket, ticket_id)) is not None
