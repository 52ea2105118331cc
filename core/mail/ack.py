"""The automatic acknowledgement of a new email ticket, in the sender's language."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.i18n import N_, Translator
from core.mail.channel_spec import NAME as CHANNEL
from core.mail.ids import reply_subject
from core.models import Contact, Ticket
from core.services.contacts import address_for_ticket

ACK_TEXT = N_(
    "Hello,\n\n"
    "thank you for writing to us. Your request is registered as ticket #{ticket_id}; "
    "an operator will answer you in this thread.\n\n"
    "When you write about this request again, just reply to this mail or keep [#{ticket_id}] "
    "in the subject.\n\n"
    "This message was sent automatically."
)


async def queue_acknowledgement(
    session: AsyncSession,
    translator: Translator,
    *,
    ticket: Ticket,
    contact: Contact,
    language: str,
    answering: str,
) -> bool:
    """Queue one acknowledgement per ticket (a re-run queues nothing twice)."""
    identity = await address_for_ticket(session, ticket)
    if identity is None:
        return False
    text = translator.gettext(language, ACK_TEXT, ticket_id=ticket.id)
    return await outbox.enqueue(
        session,
        channel=CHANNEL,
        kind="text",
        payload={
            "to": identity.external_id,
            "subject": reply_subject(ticket.id, ticket.subject),
            "text": text,
            "ticket_id": ticket.id,
            "in_reply_to": answering,
            "auto_submitted": True,
        },
        idempotency_key=f"mail-ack:{ticket.id}",
        order_key=f"contact:{contact.id}",
    )
