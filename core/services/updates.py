"""The intake of an inbound update: its id recorded (a redelivered one is skipped) and, in the same
statement, what handling it reads first: the sender's contact and identity, their dialogue state, their
live ticket on the channel and the chat's FSM state. One round trip instead of five; the rules that use
these rows stay where they are (`contacts.sender_of`, `dialogue.state.load`,
`conversations.live_ticket`), which take the rows read here instead of reading again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import String, Table, and_, bindparam, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.dialogue import state as dialogue_state
from core.models import Contact, ContactIdentity, FsmState, ProcessedUpdate, Ticket
from core.services.contacts import remember_sender
from core.services.conversations import live_ticket_sql, preload_live_ticket

# Built once: it runs for every update, and building and keying a statement costs as much CPU as running it.
_TABLE = cast(Table, ProcessedUpdate.__table__)
_CLAIM = (
    insert(_TABLE)
    .values(update_id=bindparam("update_id"))
    .on_conflict_do_nothing(index_elements=["update_id"])
    .returning(_TABLE.c.update_id)
)


def _intake_statement() -> Any:
    claimed = _CLAIM.cte("claimed")
    chat_state = aliased(FsmState, name="chat_state")
    dialogue = aliased(FsmState, name="dialogue")
    channel = bindparam("channel", type_=String)
    live = aliased(Ticket, live_ticket_sql(Contact.id, channel), name="live")
    return (
        select(claimed.c.update_id, Contact, ContactIdentity, chat_state.state.label("chat_state"),
               chat_state.data.label("chat_data"), dialogue.state.label("dialogue_state"),
               dialogue.data.label("dialogue_data"), live)
        .select_from(claimed)
        .outerjoin(ContactIdentity, and_(ContactIdentity.channel == channel,
                                         ContactIdentity.external_id == bindparam("external_id", type_=String)))
        .outerjoin(Contact, Contact.id == ContactIdentity.contact_id)
        .outerjoin(chat_state, chat_state.key == bindparam("chat_key", type_=String))
        .outerjoin(dialogue, dialogue.key == dialogue_state.state_key_sql(channel, Contact.id))
        .outerjoin(live, true())
    )


_INTAKE = _intake_statement()


@dataclass(frozen=True)
class Intake:
    """What the intake read besides the claim: the chat's FSM state (None: the chat has none)."""

    chat_state: str | None
    chat_data: dict[str, Any]


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """Record a Telegram update id in the caller's transaction. False: it was already processed
    (or is being processed by another transaction, which this call waits for)."""
    return (await session.execute(_CLAIM, {"update_id": update_id})).scalar_one_or_none() is not None


async def take_in(session: AsyncSession, update_id: int, *, channel: str, external_id: str,
                  chat_key: str | None) -> Intake | None:
    """`claim_update` for an update from a person, reading in the same statement what its handling
    reads first (see the module's docstring). None: the update was already processed."""
    row = (await session.execute(_INTAKE, {"update_id": update_id, "channel": channel, "external_id": external_id,
                                           "chat_key": chat_key})).first()
    if row is None:
        return None
    contact, identity = row.Contact, row.ContactIdentity
    if contact is not None and identity is not None:
        remember_sender(session, channel, external_id, contact, identity)
        dialogue_state.preload(session, dialogue_state.state_key(channel, contact.id), row.dialogue_state,
                               row.dialogue_data)
        preload_live_ticket(session, contact.id, channel, row.live)
    return Intake(row.chat_state, dict(row.chat_data or {}))
