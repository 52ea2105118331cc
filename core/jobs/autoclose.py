"""Close tickets that have waited for the customer too long, after telling the customer first.

"Waiting since" is the start of the resolution pause (`sla_paused_at` while the status is
waiting_customer); a customer message ends the pause, so a customer who wrote is not closed on.
The notice is recorded per waiting period, and the close happens only once the notice has had its
full time, even if the job was down for a while.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.jobs.notices import CustomerText, record_notice, send_to_customer
from core.models import Contact, Ticket
from core.services import tickets
from core.sla.clock import SYSTEM_CLOCK, Clock
from core.sla.texts import duration

log = logging.getLogger(__name__)
NOTICE = "autoclose_notice"

_TO_NOTICE = text(
    """
    SELECT t.id FROM ticket t
    WHERE t.status = 'waiting_customer' AND t.sla_paused_at <= :since
      AND NOT EXISTS (SELECT 1 FROM ticket_notice n WHERE n.ticket_id = t.id AND n.kind = :kind
                      AND n.created_at >= t.sla_paused_at)
    ORDER BY t.sla_paused_at LIMIT :limit
    FOR UPDATE OF t SKIP LOCKED
    """
)
_TO_CLOSE = text(
    """
    SELECT t.id FROM ticket t
    WHERE t.status = 'waiting_customer' AND t.sla_paused_at <= :since
      AND (:no_notice OR EXISTS (
          SELECT 1 FROM ticket_notice n WHERE n.ticket_id = t.id AND n.kind = :kind
            AND n.created_at >= t.sla_paused_at AND n.created_at <= :noticed))
    ORDER BY t.sla_paused_at LIMIT :limit
    """
)


def waiting_ref(paused_at: datetime) -> str:
    """Names one waiting period, so each period gets its own notice."""
    return paused_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class AutoClose:
    sessions: async_sessionmaker[AsyncSession]
    translator: Translator
    after: timedelta
    notice_before: timedelta
    clock: Clock = SYSTEM_CLOCK
    batch: int = 200

    async def run(self) -> tuple[int, int]:
        """One pass: (notices queued, tickets closed)."""
        now = self.clock.now()
        noticed = await self._notice(now) if self.notice_before > timedelta(0) else 0
        closed = await self._close(now)
        if noticed or closed:
            log.info("auto-close: %d notices, %d tickets closed", noticed, closed,
                     extra={"noticed": noticed, "closed": closed})
        return noticed, closed

    async def _notice(self, now: datetime) -> int:
        since = now - self.after + self.notice_before
        async with self.sessions() as session, session.begin():
            ids = (await session.scalars(_TO_NOTICE, {"since": since, "kind": NOTICE, "limit": self.batch})).all()
            sent = 0
            for ticket_id in ids:
                ticket = await session.get(Ticket, ticket_id)
                assert ticket is not None and ticket.sla_paused_at is not None
                if not await record_notice(session, ticket.id, NOTICE, waiting_ref(ticket.sla_paused_at), now):
                    continue
                # the close waits for the later of the two: the whole period, and the notice's full time
                left = max(ticket.sla_paused_at + self.after - now, self.notice_before)
                sent += await self._tell(session, ticket, left)
            return sent

    async def _tell(self, session: AsyncSession, ticket: Ticket, left: timedelta) -> int:
        contact = await session.get(Contact, ticket.contact_id)
        if contact is None:
            return 0
        lang = contact.language
        message = CustomerText(
            text=self.translator.gettext(
                lang, "Your ticket #{id} “{subject}” is waiting for your reply. If we do not hear from you "
                      "within {left}, we will close it. Just reply to keep it open.",
                id=ticket.id, subject=ticket.subject, left=duration(self.translator, lang, left.total_seconds())),
            subject=self.translator.gettext(lang, "Ticket #{id}: we are waiting for your reply", id=ticket.id),
        )
        key = f"autoclose:{ticket.id}:{waiting_ref(ticket.sla_paused_at or ticket.created_at)}"
        return int(await send_to_customer(session, contact, ticket.channel, message, key, ticket=ticket))

    async def _close(self, now: datetime) -> int:
        params = {"since": now - self.after, "kind": NOTICE, "noticed": now - self.notice_before,
                  "no_notice": self.notice_before <= timedelta(0), "limit": self.batch}
        async with self.sessions() as session:
            ids = (await session.scalars(_TO_CLOSE, params)).all()
        closed = 0
        for ticket_id in ids:
            async with self.sessions() as session, session.begin():
                ticket = await tickets.get_ticket_for_update(session, ticket_id)
                if ticket.status != "waiting_customer" or ticket.sla_paused_at is None:
                    continue  # the customer wrote meanwhile
                await tickets.change_status(session, ticket_id, "closed", actor_kind="system", actor_id=None)
                log.info("auto-closed ticket %d after waiting for the customer", ticket_id,
                         extra={"ticket": ticket_id})
                closed += 1
        return closed
