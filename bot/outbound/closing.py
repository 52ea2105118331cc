"""`ticket_closed` {ticket_id, contact_id}: tell the customer, in their language, and ask for a rating."""

from __future__ import annotations

from typing import Any

from bot.channel import Sender
from bot.i18n import Tr
from bot.keyboards import rating
from core.errors import NotFound
from core.outbox import Delivery, PermanentFailure, RecipientGone
from core.services.outgoing import load_recipient


async def send_ticket_closed(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    ticket_id = int(delivery.payload["ticket_id"])
    async with sender.desk.sessions() as session:
        try:
            recipient = await load_recipient(session, int(delivery.payload["contact_id"]))
        except NotFound as exc:
            raise PermanentFailure("contact no longer exists") from exc
    if recipient.telegram_chat_id is None:
        raise PermanentFailure("the customer has no Telegram chat")
    if recipient.blocked:
        raise RecipientGone("the customer blocked the bot")
    tr = Tr(sender.desk.translator, recipient.language)
    text = tr("Your ticket #{ticket} is closed. How would you rate the help? Just write to reopen it.",
              ticket=ticket_id)
    await sender.paced(recipient.telegram_chat_id)
    sent = await sender.bot.send_message(recipient.telegram_chat_id, text, reply_markup=rating(tr, ticket_id))
    return {"external_id": sent.message_id}
