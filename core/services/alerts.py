"""Nobody has the panel open: operators who linked the channel that reaches staff get a short alert
when a customer writes on a channel of `offline_alerts` (at most one per ticket and operator every ten
minutes). The customer's message is stored either way; this only queues outbox rows."""

from __future__ import annotations

import html
import time

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.channels import channels_of, staff_channel_of
from core.i18n import N_, translator_of
from core.models import Contact, ContactIdentity, Message, Ticket
from core.services.presence import offline_alert_recipients

ALERT_BUCKET_SECONDS = 600
ALERT_TEXT = N_("🔔 Nobody has the panel open. New message in ticket #{ticket} from {name}:\n{preview}")


async def alert_offline_operators(session: AsyncSession, ticket: Ticket, message: Message, *,
                                  recipients_exist: bool = True) -> int:
    """Queue the alerts for a customer message just stored; returns how many were queued.
    One statement when someone is online (it runs for every customer message); none when the caller's
    own statement found `presence.offline_alert_recipients_exist` false (`recipients_exist`)."""
    if not recipients_exist or not channels_of(session).get(ticket.channel).offline_alerts:
        return 0
    channel = staff_channel_of(session)
    if channel is None:
        return 0
    recipients = await offline_alert_recipients(session)
    if not recipients:
        return 0
    contact = await session.get(Contact, ticket.contact_id)
    identity = await session.get(ContactIdentity, ticket.identity_id) if ticket.identity_id else None
    assert contact is not None
    # An operator writing to the desk as a customer (testing the bot) is not alerted about themselves.
    own = identity.external_id if identity is not None and identity.channel == channel else None
    translator = translator_of(session)
    preview = " ".join((message.body or f"[{message.kind}]").split())[:200]
    name = contact.name or (identity.username if identity is not None else None) or contact.id
    bucket = int(time.time() // ALERT_BUCKET_SECONDS)
    queued = 0
    for recipient in recipients:
        if own is not None and own == str(recipient.telegram_user_id):
            continue
        text = translator.gettext(recipient.language, ALERT_TEXT, ticket=ticket.id,
                                  name=html.escape(str(name), quote=False), preview=html.escape(preview, quote=False))
        queued += await outbox.enqueue(
            session, channel=channel, kind="text",
            payload={"chat_id": recipient.telegram_user_id, "text": text},
            idempotency_key=f"alert:ticket:{ticket.id}:operator:{recipient.operator_id}:{bucket}",
            order_key=f"tg:{recipient.telegram_user_id}",
        )
    return queued
