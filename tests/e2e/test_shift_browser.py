"""An operator's shift in Chromium on a phone (390×844) and a laptop (1366×768), in English and Russian:
nothing wider than the screen, the header on one line at 1366, inbox rows with the last message and its
time, "assign to me", assignment on the first reply in the ticket's history, and no English UI word in
the Russian panel."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.models import Queue, Ticket
from tests.integration.test_team_figures import ticket_at
from tests.web.harness import Panel, customer_ticket, customer_writes, make_operator

pytestmark = pytest.mark.browser

SMALL = {"width": 360, "height": 740}
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}
LAPTOP = {"width": 1366, "height": 768}

# Elements wider than the viewport or reaching past its right edge (hidden ones and what a scrolling
# box clips are not seen, so not counted), and the page's own horizontal scroll.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const clipped = (node) => {
    for (let up = node.parentElement; up; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.overflowX !== "visible" && up.getBoundingClientRect().right <= width + 0.5) return true;
    }
    return false;
  };
  const wide = [];
  for (const node of document.querySelectorAll("body *")) {
    const box = node.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    if ((box.right > width + 0.5 || box.width > width + 0.5) && !clipped(node)) {
      const name = `${node.tagName.toLowerCase()}${node.id ? "#" + node.id : ""}.${node.className}`;
      wide.push(`${name} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: width, wide};
}"""

# Visible text of the page: text nodes under visible elements plus each select's chosen option.
VISIBLE_TEXT = """() => {
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("script, style, select, [data-user-text]")) continue;
    if (!parent.checkVisibility({ visibilityProperty: true }) || !node.textContent.trim()) continue;
    parts.push(node.textContent.trim());
  }
  for (const select of document.querySelectorAll("select")) {
    if (select.checkVisibility() && select.selectedOptions[0]) parts.push(select.selectedOptions[0].textContent.trim());
  }
  for (const node of document.querySelectorAll("[placeholder], [title], [aria-label]")) {
    if (!node.checkVisibility()) continue;
    for (const name of ["placeholder", "aria-label"]) if (node.getAttribute(name)) parts.push(node.getAttribute(name));
  }
  return parts;
}"""

# Latin words a Russian operator may read: names of products, formats (Markdown), keys (Enter, Shift+Enter),
# "E-mail" (as Russian interfaces write it)
# and the time zone the placeholders show (IANA names are typed as they are). Data (e-mail addresses, queue
# slugs, article texts and the built-in synonyms) is marked `data-user-text` and not read.
LATIN_ALLOWED = {"desk", "telegram", "sla", "api", "en", "ru", "utc", "p90", "web", "id", "enter", "shift",
                 "markdown", "europe", "moscow", "mail"}


async def signed_in(browser: Any, panel: Panel, email: str, viewport: dict[str, int]) -> Any:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    await page.goto(panel.url("/login"))
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", "correct horse battery")
    await page.click("button[type=submit]")
    await page.wait_for_url(panel.url("/inbox"))
    await page.wait_for_selector("#conn-state[data-state=live]")
    return page


async def fits(page: Any, where: str) -> None:
    measured = await page.evaluate(OVERFLOW)
    assert measured["scroll"] <= measured["inner"], (where, measured)
    assert measured["wide"] == [], (where, measured["wide"])


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_the_panel_fits_a_phone_and_a_laptop(browser: Any, panel: Panel, sessions: Any, artifacts_dir: Path,
                                                  language: str) -> None:
    email = f"shift-{language}@example.com"
    await make_operator(sessions, email, role="admin", language=language)
    long_words = "Здравствуйте, " + "очень-длинное-слово-без-пробелов" * 4 if language == "ru" else (
        "Hello, " + "averyveryverylongwordwithoutanyspaces" * 4)
    ticket_id, _ = await customer_ticket(sessions, user_id=1200, name="Анна Каренина" if language == "ru" else "Anna",
                                         body="Хочу поговорить с человеком" if language == "ru" else "Talk to a human")
    await customer_writes(sessions, ticket_id, long_words)
    for viewport, size in ((SMALL, "small"), (PHONE, "phone"), (TABLET, "tablet"), (LAPTOP, "laptop")):
        page = await signed_in(browser, panel, email, viewport)
        row = page.locator(f"tr[data-ticket-id='{ticket_id}']")
        await row.wait_for()
        preview = await row.locator(".preview").text_content()
        assert preview and preview.startswith(long_words[:20])
        assert await row.locator("time.rel").text_content() in ({"en": "just now", "ru": "только что"}[language],)
        assert await row.locator("time.rel").get_attribute("title")  # the exact time on hover
        await page.screenshot(path=str(artifacts_dir / f"shift-inbox-{size}-{language}.png"), full_page=True)
        await fits(page, f"inbox {size} {language}")
        if size == "laptop":
            # one header line: every nav entry and the account controls on the same row
            tops = await page.eval_on_selector_all(
                "#top nav > a, #top nav > details, #top .me > *",
                "nodes => nodes.map(n => Math.round(n.getBoundingClientRect().top))")
            assert max(tops) - min(tops) <= 6, tops
            assert (await page.eval_on_selector("#top", "n => n.getBoundingClientRect().height")) < 60
        else:
            assert not await page.locator("#top nav").is_visible()  # folded behind the menu button
            await page.click("#menu-toggle")
            await page.locator("#top nav a[href='/dashboard']").wait_for()
            await fits(page, f"menu {size} {language}")
            await page.screenshot(path=str(artifacts_dir / f"shift-menu-{size}-{language}.png"))
            await page.click("#menu-toggle")
        await page.goto(panel.url(f"/tickets/{ticket_id}"))
        await page.locator("li.msg.customer .body", has_text=long_words[:20]).wait_for()
        await page.wait_for_selector("#conn-state[data-state=live]")
        await fits(page, f"ticket {size} {language}")
        for reachable in ("#reply-body", "#send", "#controls select[name=status]", "#assign-me", ".file-button",
                          "#kb-insert"):
            await page.locator(reachable).scroll_into_view_if_needed()
            box = await page.locator(reachable).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (reachable, box)
        await page.screenshot(path=str(artifacts_dir / f"shift-ticket-{size}-{language}.png"), full_page=True)
        for path in ("/dashboard", "/admin/ws", "/kb"):
            await page.goto(panel.url(path))
            await page.wait_for_selector("#conn-state[data-state=live]")
            await fits(page, f"{path} {size} {language}")
            shot = f"shift-{path.strip('/').replace('/', '-')}-{size}-{language}.png"
            await page.screenshot(path=str(artifacts_dir / shot), full_page=True)
        await page.context.close()


DASHBOARD_TEXT = {
    "en": {"head": ["Operator", "Replies sent", "First response, median", "Resolution, median", "Average rating",
                    "Ratings", "Open, assigned now"],
           "lead": ["Lead", "2", "1 h 30 min", "2 h 2 min", "4.5", "2", "0"]},
    "ru": {"head": ["Оператор", "Отправлено ответов", "Первый ответ, медиана", "Решение, медиана", "Средняя оценка",
                    "Оценок", "Открытых, назначено сейчас"],
           "lead": ["Lead", "2", "1 ч 30 мин", "2 ч 2 мин", "4,5", "2", "0"]},
}


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_an_operator_sees_the_teams_figures_on_the_dashboard(browser: Any, panel: Panel, sessions: Any,
                                                                  artifacts_dir: Path, language: str) -> None:
    lead = await make_operator(sessions, "lead@example.com", role="admin")
    me = await make_operator(sessions, f"team-{language}@example.com", language=language)
    created = datetime.now(UTC) - timedelta(hours=3)
    for user_id, score in ((1500, 4), (1501, 5)):
        # Medians come from 2% histograms (5440 s reads 5454.7, 7300 s reads 7341.4): times chosen clear
        # of a minute's edge.
        await ticket_at(sessions, user_id, created, first_reply=(lead, 5440), resolved_after=7300, assignee=lead,
                        rating=score)
    page = await signed_in(browser, panel, f"team-{language}@example.com", PHONE)
    await page.goto(panel.url("/dashboard"))
    table = page.locator("#team-table")
    await table.wait_for()
    expected = DASHBOARD_TEXT[language]
    assert [h.strip() for h in await table.locator("thead th").all_text_contents()] == expected["head"]
    cells = table.locator(f"tr[data-operator-id='{lead}'] > *")
    assert [c.strip() for c in await cells.all_text_contents()] == expected["lead"]
    mine = table.locator(f"tr.mine[data-operator-id='{me}'] > *")  # their own row, marked; no data is "—"
    assert [c.strip() for c in await mine.all_text_contents()][1:] == ["0", "—", "—", "—", "0", "0"]
    tops = await mine.evaluate_all("cells => cells.map(c => Math.round(c.getBoundingClientRect().top))")
    assert len(set(tops)) == 1, tops  # one line, as a table row
    await fits(page, f"dashboard team {language}")
    await page.screenshot(path=str(artifacts_dir / f"dashboard-team-{language}.png"), full_page=True)
    await page.context.close()


async def test_no_english_word_in_the_russian_panel(browser: Any, panel: Panel, sessions: Any) -> None:
    await make_operator(sessions, "rus@example.com", role="admin", language="ru")
    ticket_id, _ = await customer_ticket(sessions, user_id=1300, name="Борис", body="Позовите человека")
    await customer_writes(sessions, ticket_id, "Где мой заказ?")
    page = await signed_in(browser, panel, "rus@example.com", LAPTOP)
    await page.locator(f"tr[data-ticket-id='{ticket_id}'] .preview", has_text="Где мой заказ?").wait_for()
    await page.locator(f"tr[data-ticket-id='{ticket_id}'] .assign-me").click()
    await page.locator(f"tr[data-ticket-id='{ticket_id}'] .assign-me").wait_for(state="detached")
    await page.click("#admin-menu summary")  # the open dropdown's entries are read too
    english: dict[str, list[str]] = {}
    for path, ready in (("/inbox", f"tr[data-ticket-id='{ticket_id}']"), (f"/tickets/{ticket_id}", "#history li"),
                        ("/dashboard", "dl.response-times"), ("/admin/queues", "#queue-rows tr"),
                        ("/admin/operators", "main h1"), ("/admin/sla", "main h1"), ("/kb", "main"),
                        ("/orders", "main"), ("/admin/ws", "#online-list li")):
        if path != "/inbox":
            await page.goto(panel.url(path))
        await page.locator(ready).first.wait_for()
        await page.wait_for_selector("#conn-state[data-state=live]")
        await page.wait_for_load_state("networkidle")
        words = set()
        for text in await page.evaluate(VISIBLE_TEXT):
            words.update(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", text))
        found = sorted(words - LATIN_ALLOWED - {"rus"})  # "Rus": the operator's own name
        if found:
            english[path] = found
    assert english == {}, english
    # the Connections page shows the admin's own open panel (not a snapshot from before its socket)
    online = await page.locator("#online-list li").all_text_contents()
    assert any(item.startswith("Rus (Администратор)") for item in online), online


async def test_assign_to_me_and_the_first_reply_assigns(browser: Any, panel: Panel, sessions: Any,
                                                         artifacts_dir: Path) -> None:
    me = await make_operator(sessions, "taker@example.com")
    mine, _ = await customer_ticket(sessions, user_id=1400, name="Vera", body="Talk to a human")
    replied, _ = await customer_ticket(sessions, user_id=1401, name="Gleb", body="Talk to a human")
    await customer_writes(sessions, replied, "Is anyone there?")
    page = await signed_in(browser, panel, "taker@example.com", PHONE)

    row = page.locator(f"tr[data-ticket-id='{mine}']")
    await row.locator(".assign-me").click()
    await row.locator(".assignee", has_text="Yours").wait_for()
    async with sessions() as session:
        assert (await session.get(Ticket, mine)).assignee_id == me

    await page.goto(panel.url(f"/tickets/{replied}"))
    await page.locator("li.msg.customer .body", has_text="Is anyone there?").wait_for()
    await page.wait_for_selector("#conn-state[data-state=live]")
    assert await page.locator("#assign-me").is_visible()
    await page.fill("#reply-body", "Yes, I am here.")
    await page.keyboard.press("Enter")
    await page.locator("li.msg.operator .body", has_text="Yes, I am here.").wait_for()
    taken = page.locator("#history li[data-action=assignee_id][data-via=reply]")
    await taken.wait_for()
    assert await taken.locator(".history-text").text_content() == "You took the ticket by replying"
    assert not await page.locator("#assign-me").is_visible()
    async with sessions() as session:
        assert (await session.get(Ticket, replied)).assignee_id == me
        general = await session.scalar(select(Queue.assign_on_reply).where(Queue.slug == "general"))
    assert general is True
    await page.screenshot(path=str(artifacts_dir / "shift-assigned-on-reply-phone.png"), full_page=True)


async def test_keyboard_and_bulk_select(browser: Any, panel: Panel, sessions: Any, artifacts_dir: Path) -> None:
    me = await make_operator(sessions, "keys@example.com")
    ids = [(await customer_ticket(sessions, user_id=1500 + n, name=f"K{n}", body=f"question {n}"))[0] for n in range(4)]
    newest_first = list(reversed(ids))
    page = await signed_in(browser, panel, "keys@example.com", LAPTOP)
    await page.locator(f"tr[data-ticket-id='{ids[0]}']").wait_for()

    # j/k move the current row, x selects, a assigns, ? lists the keys
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await page.keyboard.press("k")
    await page.keyboard.press("j")
    assert await page.get_attribute("tr.current", "data-ticket-id") == str(newest_first[1])
    await page.keyboard.press("x")
    await page.keyboard.press("j")
    await page.keyboard.press("x")
    await page.locator("#bulk-bar").wait_for()
    assert await page.locator("#bulk-count").text_content() == "Selected: 2"
    await page.keyboard.press("?")
    await page.locator("#keys-help").wait_for()
    await page.screenshot(path=str(artifacts_dir / "shift-keys-help.png"))
    await page.keyboard.press("Escape")
    await page.locator("#keys-help").wait_for(state="hidden")

    # bulk: assign the two selected to me, then close them
    await page.click("#bulk-assign")
    await page.locator("#bulk-result", has_text="Changed: 2").wait_for()
    async with sessions() as session:
        owners = {t.id: t.assignee_id for t in await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    assert owners == {ids[0]: None, ids[1]: me, ids[2]: me, ids[3]: None}
    for n in (1, 2):
        await page.locator(f"tr[data-ticket-id='{newest_first[n]}'] .pick-box").check()
    await page.click("#bulk-close")
    await page.locator(f"tr[data-ticket-id='{newest_first[1]}']").wait_for(state="detached")  # closed leave the list
    await page.locator(f"tr[data-ticket-id='{newest_first[2]}']").wait_for(state="detached")

    # / focuses the search; in a field j is a letter, Esc leaves it
    await page.keyboard.press("/")
    await page.keyboard.type("j")
    assert await page.input_value("#filters input[name=q]") == "j"
    await page.keyboard.press("Escape")
    await page.fill("#filters input[name=q]", "")
    await page.keyboard.press("Escape")

    # Enter opens the current ticket; there r focuses the reply box, a assigns, e closes
    await page.locator(f"tr[data-ticket-id='{ids[0]}']").wait_for()
    # the current row left with its closed ticket: j starts again from the top (the list may still be
    # reloading after the search was cleared, so look again until the row is current)
    current = page.locator("tr.current")
    async with asyncio.timeout(10):
        while not (await current.count() and await current.get_attribute("data-ticket-id") == str(ids[0])):
            await page.keyboard.press("j")
            await asyncio.sleep(0.1)
    await page.keyboard.press("Enter")
    await page.wait_for_url(panel.url(f"/tickets/{ids[0]}"))
    await page.wait_for_selector("#conn-state[data-state=live]")
    await page.locator("li.msg.customer").first.wait_for()
    await page.keyboard.press("a")
    await page.locator("#history li[data-action=assignee_id]").wait_for()
    await page.keyboard.press("e")
    await page.locator("#history li[data-action=status]").wait_for()
    await page.keyboard.press("r")
    assert await page.evaluate("document.activeElement.id") == "reply-body"
    async with sessions() as session:
        ticket = await session.get(Ticket, ids[0])
        assert (ticket.assignee_id, ticket.status) == (me, "closed")
    await page.screenshot(path=str(artifacts_dir / "shift-keys-ticket.png"), full_page=True)


async def test_a_keyboard_only_triage_and_a_bulk_close_of_three(browser: Any, panel: Panel, sessions: Any,
                                                                artifacts_dir: Path) -> None:
    """The issue's shift, no mouse from sign-in to close: the oldest unassigned ticket opened, taken,
    answered and closed with keys only; then three tickets selected with `x` and closed together."""
    me = await make_operator(sessions, "nomouse@example.com")
    other = await make_operator(sessions, "colleague@example.com")
    oldest, _ = await customer_ticket(sessions, user_id=1600, name="Oldest", body="My order never came")
    younger = [(await customer_ticket(sessions, user_id=1601 + n, name=f"Y{n}", body=f"question {n}"))[0]
               for n in range(3)]
    taken, _ = await customer_ticket(sessions, user_id=1610, name="Taken", body="Already handled")
    async with sessions() as session, session.begin():
        (await session.get(Ticket, taken)).assignee_id = other  # the newest one is someone else's

    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    await page.goto(panel.url("/login"))
    await page.locator("input[name=email]").focus()
    await page.keyboard.type("nomouse@example.com")
    await page.keyboard.press("Tab")
    await page.keyboard.type("correct horse battery")
    await page.keyboard.press("Enter")
    await page.wait_for_url(panel.url("/inbox"))
    await page.wait_for_selector("#conn-state[data-state=live]")
    await page.locator(f"tr[data-ticket-id='{oldest}']").wait_for()

    # newest activity first: the oldest unassigned ticket is the last row; j walks down to it
    current = page.locator("tr.current")
    async with asyncio.timeout(10):
        while not (await current.count() and await current.get_attribute("data-ticket-id") == str(oldest)):
            await page.keyboard.press("j")
            await asyncio.sleep(0.05)
    await page.keyboard.press("Enter")
    await page.wait_for_url(panel.url(f"/tickets/{oldest}"))
    await page.wait_for_selector("#conn-state[data-state=live]")
    await page.locator("li.msg.customer .body", has_text="My order never came").wait_for()
    await page.keyboard.press("a")
    await page.locator("#history li[data-action=assignee_id]").wait_for()
    await page.keyboard.press("r")
    assert await page.evaluate("document.activeElement.id") == "reply-body"
    await page.keyboard.type("It left the warehouse today.")
    await page.keyboard.press("Enter")
    await page.locator("li.msg.operator .body", has_text="It left the warehouse today.").wait_for()
    await page.keyboard.press("Escape")  # out of the reply box, so the next key is a shortcut again
    assert await page.evaluate("document.activeElement.id") != "reply-body"
    await page.keyboard.press("e")
    await page.locator("#history li[data-action=status]").wait_for()
    async with sessions() as session:
        ticket = await session.get(Ticket, oldest)
        assert (ticket.assignee_id, ticket.status) == (me, "closed")
    await page.screenshot(path=str(artifacts_dir / "shift-keyboard-only-ticket.png"), full_page=True)

    # bulk: the three younger tickets picked with x, closed together
    await page.goto(panel.url("/inbox"))
    await page.wait_for_selector("#conn-state[data-state=live]")
    for ticket_id in reversed(younger):  # in the list's order (newest first): j only moves down
        await page.locator(f"tr[data-ticket-id='{ticket_id}']").wait_for()
        async with asyncio.timeout(10):
            while not (await current.count() and await current.get_attribute("data-ticket-id") == str(ticket_id)):
                await page.keyboard.press("j")
                await asyncio.sleep(0.05)
        await page.keyboard.press("x")
    assert await page.locator("#bulk-count").text_content() == "Selected: 3"
    await page.locator("#bulk-close").focus()
    await page.keyboard.press("Enter")
    for ticket_id in younger:
        await page.locator(f"tr[data-ticket-id='{ticket_id}']").wait_for(state="detached")
    async with sessions() as session:
        rows = await session.scalars(select(Ticket).where(Ticket.id.in_([*younger, taken])))
        statuses = {t.id: t.status for t in rows}
    assert statuses == {**dict.fromkeys(younger, "closed"), taken: "open"}
    await context.close()
