"""The customer dialogue on any channel: greeting and menu, /help, the flood notice, the live ticket
relay and reopen, intents (a human, an order's status), the knowledge base, the handoff with a topic,
closing by the customer and the 1-5 rating with its comment.

Each entry point takes the update's session, the contact and the channel's name and returns the
`Answer`s for the adapter to render; the dialogue's state moves in the same transaction. What the
customer wrote before a ticket exists is kept raw with the bot's answers to it (a bounded
transcript); at the handoff the channel's parser (registered with the channel) turns the customer's
turns into stored messages and the bot's turns become `bot` lines, in order, so the operator sees
how the conversation began."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.channels import channels_of
from core.dialogue import answers as a
from core.dialogue import state as dialogue_state
from core.dialogue.answers import Action, Answer, ArticleView, Button, Incoming, Link
from core.errors import NotAllowed, NotFound
from core.i18n import N_, Tr, Translator
from core.intents import Intents
from core.kb import misses
from core.kb.articles import get_published, record_feedback, related
from core.kb.search import MAX_QUERY, SearchResult, find_answer, question_key
from core.models import Article, Contact, ContactIdentity, Ticket
from core.services import flood
from core.services.conversations import live_ticket, system_message
from core.services.order_lookup import order_status_for_contact
from core.services.relay import Route, hand_off, recent_tickets, relay_inbound
from core.services.support import (
    close_by_customer,
    comment_rating,
    rate_ticket,
    ticket_for_message,
)

CHOOSING_TOPIC = "dialogue:choosing_topic"
ORDER_NUMBER = "dialogue:order_number"
RATING_COMMENT = "dialogue:rating_comment"

TOPICS = (
    ("technical", N_("🛠 Technical support")),
    ("billing", N_("💳 Billing")),
    ("logistics", N_("🚚 Logistics")),
    ("general", N_("💬 Something else")),
)
TOPIC_SLUGS = frozenset(slug for slug, _ in TOPICS)
ORDER_NUMBER_RE = re.compile(r"#?\s*([A-Za-z0-9][A-Za-z0-9-]{0,31})")
ORDER_STATUSES = {
    "pending": N_("Order {number} is waiting to be accepted."),
    "preparing": N_("Order {number} is being prepared."),
    "ready": N_("Order {number} is ready."),
    "delivering": N_("Order {number} is on its way."),
    "completed": N_("Order {number} is completed."),
    "rejected": N_("Order {number} was rejected."),
    "cancelled": N_("Order {number} was cancelled."),
}
STATUS_LABELS = {"open": N_("waiting for an operator"), "in_progress": N_("an operator is on it"),
                 "waiting_customer": N_("waiting for your reply"), "closed": N_("resolved")}

@dataclass(frozen=True)
class Dialogue:
    translator: Translator
    intents: Intents
    flood_per_minute: int
    reopen_window_hours: float

    def tr(self, contact: Contact) -> Tr:
        return Tr(self.translator, contact.language)

    # -- entry points -------------------------------------------------------------------------

    async def start(self, session: AsyncSession, contact: Contact, channel: str, name: str = "") -> list[Answer]:
        """The greeting and the menu; any step in progress is left."""
        state = await dialogue_state.load(session, channel, contact.id)
        state.step = None
        await dialogue_state.save(session, state)
        tr = self.tr(contact)
        text = tr("Hello, {name}! I am the support bot. Ask me anything, or choose below.",
                  name=contact.name or name)
        return [Answer(text, menu_buttons(tr, channels_of(session).get(channel).takes_orders))]

    def menu(self, session: AsyncSession, contact: Contact, channel: str, text: str) -> Answer:
        """`text` with the menu under it (an adapter's own greeting, e.g. after a language change)."""
        return Answer(text, menu_buttons(self.tr(contact), channels_of(session).get(channel).takes_orders))

    def help(self, contact: Contact) -> list[Answer]:
        tr = self.tr(contact)
        return [Answer(tr(
            "Write your question and I will look for an answer. Commands:\n"
            "/start: menu\n/human: talk to a human\n/close: close your ticket\n/language: change the language\n"
            "/help: this help"
        ))]

    async def human(self, session: AsyncSession, contact: Contact, channel: str) -> list[Answer]:
        state = await dialogue_state.load(session, channel, contact.id)
        answers = await self._offer_topics(session, contact, channel, state)
        await dialogue_state.save(session, state)
        return answers

    async def close(self, session: AsyncSession, contact: Contact, channel: str) -> list[Answer]:
        """The customer closes their live ticket; the closing notice comes through the outbox."""
        if await close_by_customer(session, contact, channel) is None:
            return [Answer(self.tr(contact)("You have no open ticket."))]
        return []

    async def message(self, session: AsyncSession, contact: Contact, channel: str, incoming: Incoming,
                      ) -> list[Answer]:
        """A customer's message (not a command of the channel's own)."""
        state = await dialogue_state.load(session, channel, contact.id)
        if state.step == ORDER_NUMBER and incoming.text is not None:
            answers = await self._order_number(session, contact, state, incoming.text)
        elif state.step == RATING_COMMENT and incoming.text is not None:
            answers = await self._rating_comment(session, contact, state, incoming.text)
        elif state.step == CHOOSING_TOPIC:
            state.add_turn(_customer_turn(incoming))
            tr = self.tr(contact)
            answers = [Answer(tr("Got it, I will pass this on too. Please choose a topic first:"), topic_buttons(tr))]
        else:
            answers = await self._free_message(session, contact, channel, state, incoming)
        await dialogue_state.save(session, state)
        return answers

    async def action(self, session: AsyncSession, contact: Contact, channel: str, action: Action,
                     identity: ContactIdentity | None = None, route: Route | None = None) -> list[Answer]:
        """A button the customer pressed, from `identity` where the adapter knows it: a handoff opens
        the ticket on it, so the operator's replies go back to the chat the customer wrote from.
        `route`: where the adapter's handoffs go (a website's queue) and the site they come from."""
        state = await dialogue_state.load(session, channel, contact.id)
        try:
            answers = await self._action(session, contact, channel, state, action, identity, route)
        except (IndexError, ValueError):  # a button whose arguments do not fit its action
            answers = [_stale(self.tr(contact))]
        await dialogue_state.save(session, state)
        return answers

    # -- the steps ------------------------------------------------------------------------------

    async def _action(self, session: AsyncSession, contact: Contact, channel: str,
                      state: dialogue_state.DialogueState, action: Action,
                      identity: ContactIdentity | None, route: Route | None = None) -> list[Answer]:
        tr = self.tr(contact)
        name = action.name
        if name == a.MENU_ASK:
            return [Answer(ack=True), Answer(tr("Type your question in one message."))]
        if name == a.MENU_TICKETS:
            return [Answer(ack=True), await self._tickets(session, contact)]
        if name == a.HUMAN:
            return [Answer(ack=True), *await self._offer_topics(session, contact, channel, state)]
        if name == a.KB_HELPED:
            try:
                await self._vote(session, state, action.int_arg(), contact, helpful=True)
            except NotFound:
                return [_gone(tr)]
            state.take_turns()  # answered: nothing to pass on
            return [Answer(tr("Glad it helped!"), ack=True)]
        if name == a.KB_SHOW:
            try:
                shown = await self._article(session, tr, action.int_arg())
            except NotFound:
                return [_gone(tr)]
            assert shown.article is not None
            state.add_turn({**_bot_turn(f"Showed the article «{shown.article.title}»", "bot_article_shown",
                                        title=shown.article.title), "article": shown.article.id})
            return [Answer(ack=True), shown]
        if name == a.KB_HUMAN:
            article_id = action.int_arg()
            article = await self._vote(session, state, article_id, contact, helpful=False)
            if article is not None:
                state.add_turn(_bot_turn(f"The article «{article.title}» did not help", "bot_not_helped",
                                         title=article.title))
            return [Answer(ack=True), *await self._offer_topics(session, contact, channel, state)]
        if name == a.TOPIC:
            return await self._topic_chosen(session, contact, channel, state, str(action.args[0]), identity,
                                            route)
        if name == a.CLOSE:
            return await self._close_button(session, contact, channel, action.int_arg())
        if name == a.RATE:
            return await self._rate(session, contact, state, action.int_arg(0), action.int_arg(1))
        return [_stale(tr)]

    async def _free_message(self, session: AsyncSession, contact: Contact, channel: str,
                            state: dialogue_state.DialogueState, incoming: Incoming) -> list[Answer]:
        tr = self.tr(contact)
        answers: list[Answer] = []
        ticket, reopened = await ticket_for_message(session, contact, channel, self.reopen_window_hours)
        if ticket is not None:
            count = flood.Count(contact.id, self.flood_per_minute)  # counted by the statement that stores it
            answers += await self._relay(session, contact, channel, ticket, incoming.raw, count=count)
            if count.check is not None and count.check.notify:
                answers.insert(0, _flood_notice(tr))
            if reopened:
                answers.append(Answer(tr("Your ticket #{ticket} is open again: an operator will see your message.",
                                         ticket=ticket.id), close_buttons(tr, ticket.id)))
            return answers
        check = await flood.count_message(session, contact.id, self.flood_per_minute)
        if check.notify:
            answers.append(_flood_notice(tr))
        state.add_turn(_customer_turn(incoming))
        if check.over:
            return answers
        text = incoming.text
        if text is None:
            return answers + await self._offer_topics(session, contact, channel, state)
        intent = self.intents.match(text)
        if intent == "human":
            answers += await self._offer_topics(session, contact, channel, state)
        elif intent == "order_status":
            state.step = ORDER_NUMBER
            answers.append(Answer(tr("Send me the order number, for example 1042.")))
        elif len(text) > MAX_QUERY:
            answers.append(Answer(tr("That is a detailed question: a human will answer it best.")))
            answers += await self._offer_topics(session, contact, channel, state)
        else:
            answers += await self._search(session, tr, state, text)
        return answers

    async def _search(self, session: AsyncSession, tr: Tr, state: dialogue_state.DialogueState,
                      text: str) -> list[Answer]:
        result: SearchResult = await find_answer(session, text, tr.language)
        best = result.best
        if result.outcome == "hit" and best is not None:
            shown = await self._article(session, tr, best.article_id)
            state.add_turn({**_bot_turn(f"Answered with the article «{best.title}»", "bot_article", title=best.title),
                            "article": best.article_id})
            return [shown]
        if result.outcome == "weak":
            found = result.found[:3]
            titles = "; ".join(f.title for f in found)
            state.add_turn(_bot_turn(f"Suggested: {titles}", "bot_suggested", titles=titles))
            rows = [(Button(f"📄 {f.title[:60]}", Action(a.KB_SHOW, (f.article_id,))),) for f in found]
            rows.append((Button(tr("👤 Talk to a human"), Action(a.HUMAN)),))
            return [Answer(tr("I am not sure I understood. Is it one of these?"), tuple(rows))]
        # A miss is not kept in the transcript: the customer's own message says it all.
        await misses.record(session, text, tr.language, "miss")
        return [Answer(tr("I could not find an answer to that. Shall I pass your question to a human?"),
                       ((Button(tr("👤 Talk to a human"), Action(a.HUMAN)),),))]

    async def _vote(self, session: AsyncSession, state: dialogue_state.DialogueState, article_id: int,
                    contact: Contact, *, helpful: bool) -> Article | None:
        """The customer's "helped" / "did not help" on an article, kept under the question it answered
        (the ranking learns from it); a "did not help" is also a missed question for the admins.
        Raises NotFound for a vote on an article gone since (the customer is told so)."""
        article = await session.get(Article, article_id)
        question = _question_before(state.turns)
        key = await question_key(session, question, article.language) if article and question else ""
        await record_feedback(session, article_id=article_id, contact_id=contact.id, helpful=helpful,
                              query=question, question_key=key)
        if not helpful and article is not None and question:
            await misses.record(session, question, article.language, "not_helped", article_id)
        return article

    async def _article(self, session: AsyncSession, tr: Tr, article_id: int) -> Answer:
        article = await get_published(session, article_id)
        others = await related(session, article)
        links = tuple(Link(str(link.get("title") or link["url"]), str(link["url"])) for link in article.links
                      if str(link.get("url", "")).startswith(("http://", "https://")))
        view = ArticleView(article.id, article.title, article.body, links, tr("Links:") if links else "")
        rows: list[tuple[Button, ...]] = [(Button(tr("👍 This helped"), Action(a.KB_HELPED, (article.id,))),
                                           Button(tr("👤 Talk to a human"), Action(a.KB_HUMAN, (article.id,))))]
        rows += [(Button(f"📄 {other.title[:60]}", Action(a.KB_SHOW, (other.id,))),) for other in others[:3]]
        return Answer(buttons=tuple(rows), article=view)

    async def _offer_topics(self, session: AsyncSession, contact: Contact, channel: str,
                            state: dialogue_state.DialogueState) -> list[Answer]:
        tr = self.tr(contact)
        live = await live_ticket(session, contact.id, channel)
        if live is not None:
            return [Answer(tr("You already have ticket #{ticket} open. Just write here: an operator will see it.",
                              ticket=live.id))]
        state.step = CHOOSING_TOPIC
        return [Answer(tr("I will pass you to a human. What is it about?"), topic_buttons(tr))]

    async def _topic_chosen(self, session: AsyncSession, contact: Contact, channel: str,
                            state: dialogue_state.DialogueState, queue: str,
                            identity: ContactIdentity | None, route: Route | None = None) -> list[Answer]:
        tr = self.tr(contact)
        if queue not in TOPIC_SLUGS:
            return [_stale(tr)]
        turns = state.take_turns()
        await _record_handoff_after_answer(session, turns)
        ticket, created = await hand_off(session, contact, queue, subject_of(turns), channel=channel,
                                         identity=identity, route=route)
        state.step = None
        answers = [Answer(ack=True)]
        if not created:
            answers.append(Answer(tr("You already have ticket #{ticket} open. Just write here: an operator will "
                                     "see it.", ticket=ticket.id)))
        for turn in turns:
            if turn.get("who") == "customer":
                answers += await self._relay(session, contact, channel, ticket, turn.get("raw") or {})
            else:
                await system_message(session, ticket, str(turn.get("text", "")), author_kind="bot",
                                     line=turn.get("line"), **dict(turn.get("params") or {}))
        if created:
            answers.append(Answer(tr("Ticket #{ticket} is open. {eta} Write here: everything you send goes to the "
                                     "operator.", ticket=ticket.id, eta=expected_answer(ticket, tr)),
                                  close_buttons(tr, ticket.id)))
        return answers

    async def _relay(self, session: AsyncSession, contact: Contact, channel: str, ticket: Ticket,
                     raw: dict[str, Any], count: flood.Count | None = None) -> list[Answer]:
        """Store a customer message through the channel's parser; tell the customer what it could not take.
        `count`: the message is new, to be counted against the flood limit (`customer_wrote`)."""
        parsed = await channels_of(session).adapter(channel).parse(raw, contact.language)
        inbound = parsed.inbound
        # Offline operators are alerted by customer_wrote.
        await relay_inbound(session, ticket, inbound, count=count)
        return [Answer(notice) for notice in parsed.notices]

    async def _tickets(self, session: AsyncSession, contact: Contact) -> Answer:
        tr = self.tr(contact)
        tickets = await recent_tickets(session, contact.id)
        if not tickets:
            return Answer(tr("You have no tickets yet."))
        lines = [f"#{t.id} · {t.subject} · {tr(STATUS_LABELS.get(t.status, t.status))}" for t in tickets]
        return Answer(tr("Your tickets:") + "\n" + "\n".join(lines))

    async def _order_number(self, session: AsyncSession, contact: Contact, state: dialogue_state.DialogueState,
                            text: str) -> list[Answer]:
        tr = self.tr(contact)
        match = ORDER_NUMBER_RE.fullmatch(text.strip())
        if match is None:
            return [Answer(tr("That does not look like an order number. Send just the number, for example 1042."))]
        state.step = None
        number = match.group(1)
        found = await order_status_for_contact(session, contact.id, number)
        if found is None:
            return [Answer(tr("I could not find order {number} among your orders.", number=number))]
        template = ORDER_STATUSES.get(found.status, N_("Order {number}: {status}."))
        return [Answer(tr(template, number=found.number, status=found.status))]

    async def _close_button(self, session: AsyncSession, contact: Contact, channel: str,
                            ticket_id: int) -> list[Answer]:
        live = await live_ticket(session, contact.id, channel)
        if live is None or live.id != ticket_id:
            return [Answer(self.tr(contact)("This ticket is already closed."), ack=True, alert=True)]
        await close_by_customer(session, contact, channel)
        return [Answer(ack=True)]

    async def _rate(self, session: AsyncSession, contact: Contact, state: dialogue_state.DialogueState,
                    ticket_id: int, score: int) -> list[Answer]:
        tr = self.tr(contact)
        if score == 0:
            state.step = None
            return [Answer(tr("Thank you for the rating!"), ack=True)]
        try:
            await rate_ticket(session, contact_id=contact.id, ticket_id=ticket_id, score=score)
        except (NotFound, NotAllowed):
            return [Answer(tr("This ticket can no longer be rated."), ack=True, alert=True)]
        state.step = RATING_COMMENT
        state.data = {**state.data, "comment_ticket": ticket_id}
        skip = ((Button(tr("Skip the comment"), Action(a.RATE, (ticket_id, 0))),),)
        return [Answer(tr("Thank you for the rating!"), ack=True),
                Answer(tr("Thanks for the {score}/5! Anything to add? Write a comment or press Skip.", score=score),
                       skip)]

    async def _rating_comment(self, session: AsyncSession, contact: Contact, state: dialogue_state.DialogueState,
                              text: str) -> list[Answer]:
        tr = self.tr(contact)
        ticket_id = state.data.get("comment_ticket")
        state.step = None
        if not isinstance(ticket_id, int):
            return []
        try:
            await comment_rating(session, contact_id=contact.id, ticket_id=ticket_id, comment=text)
        except (NotFound, NotAllowed):
            return [Answer(tr("This ticket can no longer be rated."))]
        return [Answer(tr("Thank you for the feedback!"))]


# -- answers shared with the adapters ------------------------------------------------------------

def menu_buttons(tr: Tr | Callable[..., str], takes_orders: bool) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = [(Button(tr("❓ Ask a question"), Action(a.MENU_ASK)),),
                                      (Button(tr("🎫 My tickets"), Action(a.MENU_TICKETS)),)]
    if takes_orders:
        rows.append((Button(tr("🛒 Place an order"), Action(a.MENU_ORDER)),
                     Button(tr("📦 My orders"), Action(a.MENU_ORDERS))))
    rows.append((Button(tr("👤 Talk to a human"), Action(a.HUMAN)),))
    return tuple(rows)


def topic_buttons(tr: Tr | Callable[..., str]) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button(tr(label), Action(a.TOPIC, (slug,))),) for slug, label in TOPICS)


def close_buttons(tr: Tr | Callable[..., str], ticket_id: int) -> tuple[tuple[Button, ...], ...]:
    return ((Button(tr("✅ Close the ticket"), Action(a.CLOSE, (ticket_id,))),),)


def closed_notice(translator: Translator, language: str, ticket_id: int) -> Answer:
    """What a channel that `rates_on_close` shows when a ticket closes (outbox kind `ticket_closed`)."""
    tr = Tr(translator, language)
    stars = tuple(Button("⭐" * score if score <= 1 else f"{score}⭐", Action(a.RATE, (ticket_id, score)))
                  for score in range(1, 6))
    return Answer(tr("Your ticket #{ticket} is closed. How would you rate the help? Just write to reopen it.",
                     ticket=ticket_id), (stars,))


def expected_answer(ticket: Ticket, tr: Tr) -> str:
    if ticket.frt_due_at is None:
        return tr("An operator usually answers within a few hours.")
    minutes = max(1, int((ticket.frt_due_at - datetime.now(UTC)).total_seconds() // 60))
    if minutes < 120:
        return tr("An operator will answer within about {n} min.", n=minutes)
    return tr("An operator will answer within about {n} h.", n=minutes // 60)


def subject_of(turns: list[dict[str, Any]]) -> str:
    for turn in turns:
        text = turn.get("text") if turn.get("who") == "customer" else None
        if text:
            line = " ".join(str(text).split())
            return line if len(line) <= 80 else line[:79] + "…"
    return ""


def _question_before(turns: list[dict[str, Any]]) -> str:
    """The customer's last words before the bot's last answer: the question that answer was for."""
    answered = max((n for n, turn in enumerate(turns) if turn.get("who") == "bot"), default=len(turns))
    for turn in reversed(turns[:answered]):
        if turn.get("who") == "customer" and turn.get("text"):
            return str(turn["text"])
    return ""


async def _record_handoff_after_answer(session: AsyncSession, turns: list[dict[str, Any]]) -> None:
    """A handoff whose last bot turn was an article (answered, or shown from suggestions) means the
    answer did not do it: a missed question (a "did not help" press was recorded already)."""
    last = next((turn for turn in reversed(turns) if turn.get("who") == "bot"), None)
    if last is None or last.get("line") not in ("bot_article", "bot_article_shown"):
        return
    article = await session.get(Article, last["article"]) if isinstance(last.get("article"), int) else None
    question = _question_before(turns)
    if article is not None and question:
        await misses.record(session, question, article.language, "handoff", article.id)


def _customer_turn(incoming: Incoming) -> dict[str, Any]:
    return {"who": "customer", "raw": incoming.raw, "key": incoming.key, "text": incoming.summary}


def _bot_turn(text: str, line: str, **params: str) -> dict[str, Any]:
    return {"who": "bot", "text": text, "line": line, "params": params}


def _flood_notice(tr: Tr) -> Answer:
    return Answer(tr("You are writing faster than we can read. Every message is kept; please give us a moment."))


def _stale(tr: Tr) -> Answer:
    return Answer(tr("This button is no longer valid. Send /start for the menu."), ack=True, alert=True)


def _gone(tr: Tr) -> Answer:
    return Answer(tr("This article is no longer available."), ack=True, alert=True)
