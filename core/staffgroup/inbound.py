"""What staff do in a topic: write (a reply to the customer, or a note with `/note` or `!`) and press
the card's buttons. The same use cases as the panel's, with the operator the writer linked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import PRIORITIES
from core.errors import InvalidInput, NotAllowed
from core.models import Operator, StaffGroup, TicketTopic
from core.services import conversations
from core.services import tickets as ticket_service
from core.staffgroup.links import staff_of
from core.staffgroup.topics import ORIGIN

NOTE_PREFIXES = ("/note", "!")


class NotLinked(NotAllowed):
    """A group member who has not linked Telegram to an operator account wrote in a topic."""

    code = "not_linked"


@dataclass(frozen=True)
class StaffMessage:
    chat_id: int
    thread_id: int
    message_id: int
    telegram_user_id: int
    text: str
    attachments: tuple[conversations.NewAttachment, ...] = ()


@dataclass(frozen=True)
class Written:
    ticket_id: int
    operator: Operator
    kind: str  # reply or note


class GroupUnlinked(NotAllowed):
    """Staff wrote in a ticket's topic of a group that is no longer linked: nothing goes to the customer."""

    code = "group_unlinked"


async def ticket_of_topic(session: AsyncSession, chat_id: int, thread_id: int) -> int | None:
    """The topic's ticket; GroupUnlinked when the topic belongs to a group unlinked since."""
    ticket_id = await session.scalar(select(TicketTopic.ticket_id).where(TicketTopic.chat_id == chat_id,
                                                                         TicketTopic.thread_id == thread_id))
    if ticket_id is not None and await session.scalar(
            select(StaffGroup.id).where(StaffGroup.chat_id == chat_id).limit(1)) is None:
        raise GroupUnlinked("this group is no longer linked to the desk")
    return ticket_id


def note_text(text: str) -> str | None:
    """The note's text when the message is one (`/note ...`, `!...`), else None."""
    stripped = text.lstrip()
    for prefix in NOTE_PREFIXES:
        if stripped.startswith(prefix):
            rest = stripped[len(prefix):]
            if prefix == "/note" and rest[:1] == "@":  # /note@bot_name
                rest = rest.split(maxsplit=1)[1] if len(rest.split(maxsplit=1)) > 1 else ""
            return rest.strip()
    return None


async def staff_wrote(session: AsyncSession, message: StaffMessage) -> Written | None:
    """A message in a topic. None: not a ticket's topic (ignored). NotLinked: the writer is not staff.
    GroupUnlinked: the group was unlinked (nothing is sent)."""
    ticket_id = await ticket_of_topic(session, message.chat_id, message.thread_id)
    if ticket_id is None:
        return None
    operator = await staff_of(session, message.telegram_user_id)
    if operator is None:
        raise NotLinked("link your Telegram to an operator account first")
    note = note_text(message.text)
    if note is not None and not message.attachments:
        await conversations.add_note(session, ticket_id=ticket_id, operator=operator, body=note, from_topic=True)
        return Written(ticket_id, operator, "note")
    origin: dict[str, Any] = {ORIGIN: {"chat_id": message.chat_id, "message_id": message.message_id}}
    await conversations.operator_replied(session, ticket_id=ticket_id, operator=operator, body=message.text,
                                         attachments=message.attachments,
                                         client_key=f"sg:{message.chat_id}:{message.message_id}", meta=origin)
    return Written(ticket_id, operator, "reply")


async def card_action(session: AsyncSession, *, ticket_id: int, telegram_user_id: int, action: str,
                      value: str = "") -> Operator:
    """A card's button: `assign` (to the presser), `priority` (value), `close`."""
    operator = await staff_of(session, telegram_user_id)
    if operator is None:
        raise NotLinked("link your Telegram to an operator account first")
    actor: dict[str, Any] = {"actor_kind": "operator", "actor_id": operator.id}
    if action == "assign":
        await ticket_service.assign(session, ticket_id, operator.id, **actor)
    elif action == "priority" and value in PRIORITIES:
        await ticket_service.change_priority(session, ticket_id, value, **actor)
    elif action == "close":
        await ticket_service.change_status(session, ticket_id, "closed", **actor)
    else:
        raise InvalidInput("unknown card action", field="action")
    return operator
