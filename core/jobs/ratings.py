"""Ask for a rating after a close, unless it was asked already.

Two guards, both in the caller's transaction: our `ticket_notice` row (one ask per ticket, ever,
even across reopen and close again) and the outbox idempotency key `rating:<ticket_id>`, which is
the contract with the support bot: when its close flow already asked with that key, nothing more
is queued. Only tickets of channels that `rates_on_close` (Telegram: inline buttons `rate:<ticket_id>:<1..5>`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.channels import channels_of
from core.i18n import Translator
from core.jobs.notices import CustomerText, record_notice, send_to_customer
from core.models import Contact, Ticket
from core.sla.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)
NOTICE = "rating_request"

_TO_ASK = text(
    """
    SELECT t.id FROM ticket t
    WHERE t.status = 'closed' AND t.resolved_at <= :closed_before AND t.resolved_at >= :closed_after
      AND t.channel = ANY(:channels)
      AND NOT EXISTS (SELECT 1 FROM ticket_notice n WHERE n.ticket_id = t.id AND n.kind = :kind)
    ORDER BY t.resolved_at LIMIT :limit
    FOR UPDATE OF t SKIP LOCKED
    """
)


def rating_key(ticket_id: int) -> str:
    return f"rating:{ticket_id}"


def rating_buttons(ticket_id: int) -> list[list[dict[str, str]]]:
    return [[{"text": "⭐" * score, "callback_data": f"rate:{ticket_id}:{score}"} for score in range(1, 6)]]


@dataclass
class RatingRequests:
    sessions: async_sessionmaker[AsyncSession]
    translator: Translator
    delay: timedelta
    max_age: timedelta
    clock: Clock = SYSTEM_CLOCK
    batch: int = 200

    async def run(self) -> int:
        """One pass: how many rating requests were queued."""
        now = self.clock.now()
        params = {"closed_before": now - self.delay, "closed_after": now - self.max_age, "kind": NOTICE,
                  "limit": self.batch}
        async with self.sessions() as session, session.begin():
            params["channels"] = channels_of(session).names_with("rates_on_close")
            ids = (await session.scalars(_TO_ASK, params)).all()
            asked = 0
            for ticket_id in ids:
                if await record_notice(session, ticket_id, NOTICE, "", now):
                    asked += await self._ask(session, ticket_id)
        if asked:
            log.info("asked %d customers for a rating", asked, extra={"asked": asked})
        return asked

    async def _ask(self, session: AsyncSession, ticket_id: int) -> int:
        ticket = await session.get(Ticket, ticket_id)
        contact = await session.get(Contact, ticket.contact_id) if ticket else None
        if ticket is None or contact is None:
            return 0
        message = CustomerText(
            text=self.translator.gettext(
                contact.language, "Your ticket #{id} “{subject}” is closed. How did we do? Rate us from 1 to 5:",
                id=ticket.id, subject=ticket.subject),
            buttons=rating_buttons(ticket.id),
        )
        return int(await send_to_customer(session, contact, ticket.channel, message, rating_key(ticket.id),
                                          ticket=ticket))
