"""Core's answers as Telegram shows them: the callback data formats buttons always had (m:, kb:, t:,
c:, r:), escaped text, and an article split under the limit with its buttons under the last part."""

from __future__ import annotations

from bot.dialogue import Ack, Send, callback_data, render
from core.dialogue import Action, Answer, ArticleView, Button, Link
from core.dialogue import answers as a
from core.dialogue.service import Tr, closed_notice, menu_buttons, topic_buttons
from core.i18n import load_translator
from tests.botapi.html_check import plain_text


def test_every_action_keeps_its_callback_data() -> None:
    assert [callback_data(Action(name)) for name in (a.MENU_ASK, a.MENU_TICKETS, a.MENU_ORDER, a.MENU_ORDERS,
                                                      a.HUMAN)] == ["m:ask", "m:tickets", "m:order", "m:orders",
                                                                    "m:human"]
    assert [callback_data(Action(name, (7,))) for name in (a.KB_HELPED, a.KB_SHOW, a.KB_HUMAN)] == [
        "kb:helped:7", "kb:show:7", "kb:human:7"]
    assert callback_data(Action(a.TOPIC, ("billing",))) == "t:billing"
    assert callback_data(Action(a.CLOSE, (12,))) == "c:12"
    assert callback_data(Action(a.RATE, (12, 4))) == "r:12:4"


def test_menus_and_the_closing_notice_render_with_those_buttons() -> None:
    tr = Tr(load_translator(), "ru")
    [menu] = render([Answer("Меню", menu_buttons(tr, takes_orders=True))])
    assert isinstance(menu, Send) and menu.reply_markup is not None
    assert [[b.callback_data for b in row] for row in menu.reply_markup.inline_keyboard] == [
        ["m:ask"], ["m:tickets"], ["m:order", "m:orders"], ["m:human"]]
    [no_orders] = render([Answer("Menu", menu_buttons(tr, takes_orders=False))])
    assert isinstance(no_orders, Send) and no_orders.reply_markup is not None
    assert len(no_orders.reply_markup.inline_keyboard) == 3
    [topics] = render([Answer("?", topic_buttons(tr))])
    assert isinstance(topics, Send) and topics.reply_markup is not None
    assert [row[0].callback_data for row in topics.reply_markup.inline_keyboard] == [
        "t:technical", "t:billing", "t:logistics", "t:general"]
    [notice] = render([closed_notice(load_translator(), "en", 5)])
    assert isinstance(notice, Send) and notice.reply_markup is not None
    assert "#5 is closed" in notice.text
    assert [b.callback_data for b in notice.reply_markup.inline_keyboard[0]] == [f"r:5:{n}" for n in range(1, 6)]


def test_text_is_escaped_and_a_press_is_acknowledged_first() -> None:
    rendered = render([Answer("Thanks!", ack=True), Answer("Order <b>&1</b> is ready.")])
    assert rendered == [Ack("Thanks!", False), Send("Order &lt;b&gt;&amp;1&lt;/b&gt; is ready.")]


def test_a_long_article_splits_and_keeps_its_buttons_on_the_last_part() -> None:
    body = "\n\n".join(f"**Step {n}.** " + "word & more " * 40 for n in range(30))
    article = ArticleView(3, "Reset <password>", body, (Link("Help & FAQ", "https://e.com/?a=1&b=2"),), "Links:")
    parts = render([Answer(buttons=((Button("👍", Action(a.KB_HELPED, (3,))),),), article=article)])
    assert len(parts) >= 2 and all(isinstance(p, Send) and p.no_preview for p in parts)
    sends = [p for p in parts if isinstance(p, Send)]
    assert sends[0].text.startswith("<b>Reset &lt;password&gt;</b>")
    assert [p.reply_markup is not None for p in sends] == [False] * (len(sends) - 1) + [True]
    assert '<a href="https://e.com/?a=1&amp;b=2">Help &amp; FAQ</a>' in sends[-1].text
    for part in sends:
        assert len(part.text) <= 4096
        plain_text(part.text)
