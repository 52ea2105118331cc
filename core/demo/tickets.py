"""The demo's conversations: a few tickets in different states, each with the history a real one
has (the customer's messages, the bot's lines, an operator's replies, a note), written through the
same use cases the bot and the panel call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.demo.cast import CUSTOMERS
from core.models import Operator, Ticket
from core.services import conversations, tickets
from core.services.contacts import sender_of


@dataclass(frozen=True)
class Step:
    who: str  # customer | bot | operator | note
    text: str
    line: str = ""  # a bot line the panel translates (bot_article, bot_suggested); its param is `text`


@dataclass(frozen=True)
class Script:
    key: str
    customer: str
    queue: str
    subject: str
    steps: tuple[Step, ...]
    status: str  # where the ticket is left
    priority: str = "medium"
    assigned: bool = False


SCRIPTS = (
    Script("late-order", "anna", "logistics", "Где мой заказ?", (
        Step("customer", "Здравствуйте! Заказала чай три дня назад, где мой заказ?"),
        Step("bot", "Где мой заказ?", "bot_article"),
        Step("customer", "Статья не помогла: курьер так и не приехал, заказ 1042."),
    ), "open", priority="high"),
    Script("double-charge", "tom", "billing", "Charged twice", (
        Step("customer", "Hi, I was charged twice for my last order."),
        Step("bot", "Payment methods", "bot_article"),
        Step("customer", "The hold explanation is fine, but it has been a week already."),
        Step("operator", "Sorry about that, Tom! I see the second charge is a hold that the bank did not release. "
                         "I have asked our payment provider to release it; could you confirm the last 4 digits "
                         "of the card?"),
        Step("note", "Payment dashboard: 2nd charge is an authorization hold from 3 Dec, release requested."),
    ), "waiting_customer", assigned=True),
    Script("address-change", "maria", "logistics", "Change the delivery address", (
        Step("customer", "Can I change the delivery address for my order?"),
        Step("operator", "Of course! I have changed it to 7 Harbour Lane; the courier will call before coming."),
        Step("customer", "Perfect, thank you!"),
    ), "closed", assigned=True),
    Script("return-no-receipt", "dmitry", "general", "Возврат без чека", (
        Step("customer", "Можно вернуть чайник без чека?"),
        Step("bot", "Возврат и обмен", "bot_article"),
        Step("customer", "А если коробку я уже выбросил?"),
        Step("operator", "Да, без коробки тоже примем, если чайник целый. Номер заказа найдём по телефону."),
        Step("note", "Allow the return without the box: the teapot is unused (checked the photo)."),
    ), "in_progress", assigned=True),
)


async def has_tickets(session: AsyncSession, contact_ids: list[int]) -> bool:
    return await session.scalar(select(Ticket.id).where(Ticket.contact_id.in_(contact_ids)).limit(1)) is not None


async def write_tickets(session: AsyncSession, operator: Operator) -> list[int]:
    """Every script as a ticket; the caller checks that the demo's customers have none yet."""
    return [await _play(session, script, operator) for script in SCRIPTS]


async def _play(session: AsyncSession, script: Script, operator: Operator) -> int:
    person = CUSTOMERS[script.customer].user
    contact, identity = await sender_of(session, "telegram", str(person.id), name=person.first_name,
                                        username=person.username, language=person.language_code)
    ticket, _ = await conversations.open_ticket(session, contact=contact, channel="telegram", queue_slug=script.queue,
                                                subject=script.subject, priority=script.priority, identity=identity)
    if script.assigned:
        await tickets.assign(session, ticket.id, operator.id, actor_kind="system", actor_id=None)
    for number, step in enumerate(script.steps, 1):
        await _step(session, ticket, operator, step, f"demo:{script.key}:{number}")
    if ticket.status != script.status:
        await tickets.change_status(session, ticket.id, script.status, actor_kind="operator", actor_id=operator.id)
    return ticket.id


async def _step(session: AsyncSession, ticket: Ticket, operator: Operator, step: Step,
                key: str) -> None:
    if step.who == "customer":
        await conversations.customer_wrote(session, ticket, conversations.Inbound(step.text, external_key=key))
    elif step.who == "bot":
        await conversations.system_message(session, ticket, _bot_text(step), author_kind="bot", line=step.line,
                                           title=step.text)
    elif step.who == "operator":
        await conversations.operator_replied(session, ticket_id=ticket.id, operator=operator, body=step.text,
                                             client_key=key)
    else:
        await conversations.add_note(session, ticket_id=ticket.id, operator=operator, body=step.text)
    await session.refresh(ticket)


def _bot_text(step: Step) -> str:
    return f"Answered with the article «{step.text}»"
