"""A channel added in the test suite, with no change to core: a spec, a parser, a renderer to plain
dicts and a deliverer into a list. A whole customer dialogue runs through core's dialogue, the
panel's HTTP API and the outbox: the proof that a new channel is one adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.channels import ChannelAdapter, ChannelSpec, Parsed
from core.dialogue import Action, Answer, Dialogue, Incoming, closed_notice
from core.i18n import Translator
from core.intents import load_intents
from core.kb.transfer import import_articles, read_articles
from core.models import Contact, Message, TicketRating
from core.outbox import Delivery, OutboxWorker, PermanentFailure
from core.services.conversations import Inbound, record_delivery
from tests.web.harness import Panel
from tests.web.test_ticket_api import signed_in

KB_SEED = Path(__file__).resolve().parents[1] / "bot" / "kb_seed.json"


# -- the whole adapter -----------------------------------------------------------------------------

@dataclass
class Toy:
    """A chat that shows plain text and buttons, and keeps what it was sent in a list."""

    sessions: async_sessionmaker[AsyncSession]
    translator: Translator
    sent: list[dict[str, Any]] = field(default_factory=list)
    spec = ChannelSpec(name="toy", label="Toy chat", buttons=True, live_conversations=True, reopens=True,
                       rates_on_close=True, customer_notices=True)

    async def parse(self, raw: dict[str, Any], language: str) -> Parsed:
        return Parsed(Inbound(body=raw["text"], external_key=f"toy:{raw['id']}",
                              channel_refs={"toy": [str(raw["id"])]}))

    def render(self, answers: list[Answer], language: str = "") -> list[dict[str, Any]]:
        return [{"text": answer.text, "ack": answer.ack,
                 "article": answer.article and {"title": answer.article.title, "body": answer.article.body},
                 "buttons": [[{"label": b.label, "action": [b.action.name, *b.action.args]} for b in row]
                             for row in answer.buttons]}
                for answer in answers]

    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        async with self.sessions() as session:
            if delivery.kind == "reply":
                message = await session.get(Message, delivery.message_id)
                assert message is not None
                self.sent.append({"kind": "reply", "text": message.body})
            elif delivery.kind == "ticket_closed":
                contact = await session.get(Contact, delivery.payload["contact_id"])
                assert contact is not None
                notice = closed_notice(self.translator, contact.language, delivery.payload["ticket_id"])
                self.sent.append({"kind": "ticket_closed", **self.render([notice])[0]})
            else:
                raise PermanentFailure(f"toy has no kind {delivery.kind}")
        return {"external_id": str(len(self.sent))}

    def adapter(self) -> ChannelAdapter:
        return ChannelAdapter(spec=self.spec, parse=self.parse, render=self.render, deliver=self)


# -- the customer's side ---------------------------------------------------------------------------

@dataclass
class Customer:
    toy: Toy
    dialogue: Dialogue
    contact_id: int
    sent: int = 0

    async def _run(self, call: Any) -> list[dict[str, Any]]:
        async with self.toy.sessions() as session, session.begin():
            contact = await session.get(Contact, self.contact_id)
            return self.toy.render(await call(session, contact))

    async def start(self) -> list[dict[str, Any]]:
        return await self._run(lambda session, contact: self.dialogue.start(session, contact, "toy"))

    async def write(self, text: str) -> list[dict[str, Any]]:
        self.sent += 1
        incoming = Incoming(text=text, raw={"id": self.sent, "text": text}, key=f"toy:{self.sent}", summary=text)
        return await self._run(lambda session, contact: self.dialogue.message(session, contact, "toy", incoming))

    async def press(self, button: dict[str, Any]) -> list[dict[str, Any]]:
        name, *args = button["action"]
        action = Action(name, tuple(args))
        return await self._run(lambda session, contact: self.dialogue.action(session, contact, "toy", action))


def button(answer: dict[str, Any], label: str) -> dict[str, Any]:
    return next(b for row in answer["buttons"] for b in row if label in b["label"])


async def test_a_throwaway_channel_runs_a_whole_dialogue(panel: Panel, sessions) -> None:
    desk = panel.desk
    toy = Toy(desk.sessions, desk.translator)
    desk.channels.attach(toy.adapter())  # the one thing a new channel does to the desk
    worker = OutboxWorker(desk.sessions, desk.channels.deliverers(), on_outcome=[record_delivery])
    async with desk.sessions() as session, session.begin():
        await import_articles(session, read_articles(KB_SEED))
        contact = Contact(name="Tess", language="en")
        session.add(contact)
        await session.flush()
        tess = Customer(toy, Dialogue(desk.translator, load_intents(), 20, 24.0), contact.id)

    [greeting] = await tess.start()
    assert greeting["text"].startswith("Hello, Tess!")
    labels = [b["label"] for row in greeting["buttons"] for b in row]
    assert "👤 Talk to a human" in labels and not any("order" in label for label in labels)  # toy takes none

    [article] = await tess.write("how do I reset my password?")
    assert article["article"]["title"] == "How to reset your password"
    ack, topics = await tess.press(button(article, "Talk to a human"))  # it did not help
    assert ack["ack"] and len(topics["buttons"]) == 4
    ack, opened = await tess.press(button(topics, "Technical support"))
    assert "is open" in opened["text"]
    _, ticket_id = button(opened, "Close the ticket")["action"]

    operator, csrf = await signed_in(panel, sessions, "olga@example.com")
    async with operator.get(panel.url(f"/api/tickets/{ticket_id}")) as r:
        detail = await r.json()
    assert detail["channel"] == "toy" and detail["channel_capabilities"]["rates_on_close"] is True
    async with operator.get(panel.url(f"/api/tickets/{ticket_id}/messages")) as r:
        transcript = [(m["author_kind"], m["body"]) for m in (await r.json())["items"]]
    assert transcript == [
        ("customer", "how do I reset my password?"),
        ("bot", "Answered with the article «How to reset your password»"),
        ("bot", "The article «How to reset your password» did not help"),
    ]

    async with operator.post(panel.url(f"/api/tickets/{ticket_id}/messages"), json={"body": "Check your spam folder"},
                             headers=csrf) as r:
        assert r.status == 201
    assert await worker.run_once() == 1
    assert toy.sent == [{"kind": "reply", "text": "Check your spam folder"}]

    assert await tess.write("found it, thanks") == []  # into the live ticket, nothing to answer
    [ack] = await tess.press(button(opened, "Close the ticket"))
    assert ack["ack"] and not ack["text"]
    assert await worker.run_once() == 1
    closed = toy.sent[-1]
    assert closed["kind"] == "ticket_closed" and f"#{ticket_id} is closed" in closed["text"]
    assert [b["action"] for b in closed["buttons"][0]] == [["rate", ticket_id, score] for score in range(1, 6)]

    ack, ask = await tess.press(closed["buttons"][0][3])  # 4 stars
    assert ack["text"] == "Thank you for the rating!" and "4/5" in ask["text"]
    [thanks] = await tess.write("quick and kind")
    assert thanks["text"] == "Thank you for the feedback!"

    async with desk.sessions() as session:
        rating = await session.scalar(select(TicketRating).where(TicketRating.ticket_id == ticket_id))
        assert rating is not None and (rating.score, rating.comment) == (4, "quick and kind")
    async with operator.get(panel.url(f"/api/tickets/{ticket_id}/messages")) as r:
        items = (await r.json())["items"]
    assert [m["body"] for m in items if m["author_kind"] == "customer"][-1] == "found it, thanks"
    assert next(m for m in items if m["author_kind"] == "operator")["delivery_state"] == "sent"


async def test_a_button_the_dialogue_does_not_know_is_answered_as_stale(panel: Panel, sessions) -> None:
    desk = panel.desk
    toy = Toy(desk.sessions, desk.translator)
    desk.channels.attach(toy.adapter())
    async with desk.sessions() as session, session.begin():
        contact = Contact(name="Ivan", language="ru")
        session.add(contact)
        await session.flush()
        ivan = Customer(toy, Dialogue(desk.translator, load_intents(), 20, 24.0), contact.id)
    for action in (["rate", "x", 4], ["close"], ["handoff.topic", "nowhere"], ["launch.rockets"]):
        [stale] = await ivan.press({"action": action})
        assert stale["ack"] and "больше не действует" in stale["text"]
