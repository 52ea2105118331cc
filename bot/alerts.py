"""Nobody has the panel open: operators who linked Telegram get a short alert (at most one per
ticket and operator every ten minutes). The customer's message is already stored either way."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Tr
from bot.render import esc
from core import outbox
from core.context import Desk
from core.models import Contact, Message, Ticket
from core.services.presence import offline_alert_recipients

ALERT_BUCKET_SECONDS = 600


async def alert_offline_operators(session: AsyncSession, desk: Desk, ticket: Ticket, contact: Contact,
                                  message: Message) -> int:
    recipients = await offline_alert_recipients(session)
    bucket = int(time.time() // ALERT_BUCKET_SECONDS)
    queued = 0
    for recipient in recipients:
        if recipient.telegram_user_id == contact.telegram_user_id:
            continue
        tr = Tr(desk.translator, recipient.language)
        preview = " ".join((message.body or f"[{message.kind}]").split())[:200]
        text = tr("🔔 Nobody has the panel open. New message in ticket #{ticket} from {name}:\n{preview}",
                  ticket=ticket.id, name=esc(contact.name or contact.telegram_username or contact.id),
                  preview=esc(preview))
        queued += await outbox.enqueue(
            session, channel="telegram", kind="text",
            payload={"chat_id": recipient.telegram_user_id, "text": text},
            idempotency_key=f"alert:ticket:{ticket.id}:operator:{recipient.operator_id}:{bucket}",
            order_key=f"tg:{recipient.telegram_user_id}",
        )
    return queued
