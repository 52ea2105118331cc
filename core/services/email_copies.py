"""Replies a chat visitor may miss, copied by e-mail: a visitor who left an address in the website chat
(`contacts.reply_email_of`) and has not had an operator's reply shown by the time the channel's grace
period ends (`ChannelSpec.email_copy_after`) gets it by mail, in a thread their answer comes back by.

The copy is queued with the reply, in its transaction (the outbox row waits until it is due); the
e-mail channel decides when it is due whether it is still needed (`core/mail/smtp.py`, kind `copy`).
The row carries no `message_id`: the reply's delivery state is the chat's, not the copy's."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.channels import channels_of
from core.mail.channel_spec import NAME as EMAIL
from core.models import Message, Ticket
from core.services.contacts import address_for_ticket, reply_email_of

KIND = "copy"
log = logging.getLogger(__name__)


def copy_key(message_id: int) -> str:
    """One copy per reply, whatever retries the operator's send goes through."""
    return f"mail-copy:{message_id}"


async def queue_copy(session: AsyncSession, ticket: Ticket, message: Message) -> bool:
    """Queue the e-mail copy of an operator's reply where the ticket's channel does copies and the
    identity left an address; returns whether one was queued. The caller commits."""
    after = channels_of(session).get(ticket.channel).email_copy_after
    if after is None:
        return False
    identity = await address_for_ticket(session, ticket)
    if reply_email_of(identity) is None:
        return False
    queued = await outbox.enqueue(
        session, channel=EMAIL, kind=KIND,
        payload={"ticket_id": ticket.id, "message_id": message.id, "contact_id": ticket.contact_id},
        idempotency_key=copy_key(message.id), order_key=f"mail-copy:{ticket.contact_id}",
        not_before=datetime.now(UTC) + timedelta(seconds=after),
    )
    log.info("reply copy queued", extra={"ticket": ticket.id, "message_id": message.id, "after": after})
    return queued
