"""`ticket_closed` {ticket_id, contact_id}: core's closing notice (with the rating buttons), rendered
for Telegram in the customer's language."""

from __future__ import annotations

from typing import Any

from bot.channel import Sender
from bot.channel_spec import NAME
from bot.dialogue import Send, render
from core.dialogue import closed_notice
from core.errors import NotFound
from core.outbox import Delivery, PermanentFailure, RecipientGone
from core.services.outgoing import load_recipient


async def send_ticket_closed(sender: Sender, delivery: Delivery) -> dict[str, Any]:
    ticket_id = int(delivery.payload["ticket_id"])
    async with sender.desk.sessions() as session:
        try:
            recipient = await load_recipient(session, int(delivery.payload["contact_id"]), ticket_id=ticket_id,
                                             channel=NAME)
        except NotFound as exc:
            raise PermanentFailure("contact no longer exists") from exc
    if recipient.address is None:
        raise PermanentFailure("the customer has no Telegram chat")
    if recipient.blocked:
        raise RecipientGone("the customer blocked the bot")
    notice = next(item for item in render([closed_notice(sender.desk.translator, recipient.language, ticket_id)])
              if isinstance(item, Send))
    chat_id = int(recipient.address)
    await sender.paced(chat_id)
    sent = await sender.bot.send_message(chat_id, notice.text, reply_markup=notice.reply_markup)
    return {"external_id": sent.message_id}
