"""The SLA watch: a warning before each deadline and a breach when it passes, each exactly once.

A pass reads only tickets whose `sla_next_check_at` is due (a partial index), locks them with
SKIP LOCKED, and in one transaction per batch inserts the alert ledger rows (unique per ticket,
deadline, stage and revision), publishes the events, queues the Telegram alerts and moves each
ticket's next check forward. A leader killed mid-batch commits nothing; the next leader redoes it,
and the ledger turns any second attempt into nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import events, outbox
from core.channels import staff_channel_of
from core.i18n import Translator
from core.models import SlaAlert
from core.sla.clock import SYSTEM_CLOCK, Clock
from core.sla.recipients import Recipient, alert_recipients
from core.sla.stages import Alert, plan
from core.sla.texts import alert_line

log = logging.getLogger(__name__)

EVENT_TYPES = {"warning": "sla.warning", "breach": "sla.breached"}
ICONS = {"warning": "⏰", "breach": "🔴"}

_DUE = text(
    """
    SELECT id, subject, status, priority, queue_id, assignee_id, frt_due_at, ttr_due_at,
           first_response_at, sla_paused_at, sla_revision
    FROM ticket
    WHERE sla_next_check_at IS NOT NULL AND sla_next_check_at <= :now
    ORDER BY sla_next_check_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)
_MOVE = text(
    """
    UPDATE ticket SET sla_next_check_at = v.next_at
    FROM unnest(CAST(:ids AS bigint[]), CAST(:nexts AS timestamptz[])) AS v(id, next_at)
    WHERE ticket.id = v.id AND ticket.id = ANY(CAST(:ids AS bigint[]))
    """
)
# Counted up to a cap: the "on time" line needs to know whether anything is late, not an exact
# total over every late ticket (which would read the whole backlog every minute). A ticket waiting for
# the customer still owes its first response; those few are read through ix_ticket_waiting_since.
OVERDUE_CAP = 1000
_OVERDUE = text(
    """
    SELECT (SELECT count(*) FROM (SELECT 1 FROM ticket
                                  WHERE first_response_at IS NULL AND status NOT IN ('closed', 'waiting_customer')
                                    AND frt_due_at < :now ORDER BY frt_due_at LIMIT :cap) AS frt)
         + (SELECT count(*) FROM (SELECT 1 FROM ticket
                                  WHERE status = 'waiting_customer' AND first_response_at IS NULL
                                    AND frt_due_at < :now LIMIT :cap) AS frt_waiting)
         + (SELECT count(*) FROM (SELECT 1 FROM ticket
                                  WHERE status <> 'closed' AND sla_paused_at IS NULL AND ttr_due_at < :now
                                  ORDER BY ttr_due_at LIMIT :cap) AS ttr)
    """
)


@dataclass
class WatchResult:
    checked: int = 0
    emitted: list[Alert] = field(default_factory=list)
    overdue: int = 0


@dataclass
class SlaWatch:
    sessions: async_sessionmaker[AsyncSession]
    translator: Translator
    clock: Clock = SYSTEM_CLOCK
    warn_before: timedelta = timedelta(hours=1)
    batch: int = 500

    async def run(self) -> WatchResult:
        """One pass over every ticket whose next check is due."""
        now = self.clock.now()
        result = WatchResult()
        while await self._batch(now, result) == self.batch:
            pass
        if not result.emitted:
            async with self.sessions() as session:
                result.overdue = int(await session.scalar(_OVERDUE, {"now": now, "cap": OVERDUE_CAP}) or 0)
            if result.overdue:
                many = "at least " if result.overdue >= OVERDUE_CAP else ""
                log.info("SLA watch: no new alerts; %s%d deadlines already missed", many, result.overdue,
                         extra={"overdue": result.overdue})
            else:
                log.info("SLA watch: all open tickets on time", extra={"checked": result.checked})
        return result

    async def _batch(self, now: datetime, result: WatchResult) -> int:
        async with self.sessions() as session, session.begin():
            rows = (await session.execute(_DUE, {"now": now, "limit": self.batch})).all()
            if not rows:
                return 0
            candidates: list[Alert] = []
            ids: list[int] = []
            nexts: list[datetime | None] = []
            for row in rows:
                alerts, next_at = plan(row, now, self.warn_before)
                candidates.extend(alerts)
                ids.append(row.id)
                nexts.append(next_at)
            emitted = await _record(session, candidates, now)
            if emitted:
                await self._announce(session, emitted, now)
            await session.execute(_MOVE, {"ids": ids, "nexts": nexts})
        result.checked += len(rows)
        result.emitted.extend(emitted)
        return len(rows)

    async def _announce(self, session: AsyncSession, alerts: Sequence[Alert], now: datetime) -> None:
        recipients = await alert_recipients(session, {(a.ticket_id, a.queue_id, a.assignee_id) for a in alerts})
        channel = staff_channel_of(session)
        deliveries: list[dict[str, Any]] = []
        for alert in alerts:
            seconds = abs((alert.due_at - now).total_seconds())
            line = alert_line(self.translator, "en", ticket_id=alert.ticket_id, subject=alert.subject,
                              target=alert.target, stage=alert.stage, seconds=seconds)
            log.info("%s", line, extra={"ticket": alert.ticket_id, "sla_target": alert.target,
                                        "sla_stage": alert.stage})
            events.publish(session, EVENT_TYPES[alert.stage], _event_data(alert), ticket_id=alert.ticket_id)
            if channel is not None:
                deliveries.extend(self._delivery(channel, alert, r, seconds)
                                  for r in recipients.get(alert.ticket_id, []))
        await outbox.enqueue_many(session, deliveries)

    def _delivery(self, channel: str, alert: Alert, recipient: Recipient, seconds: float) -> dict[str, Any]:
        """A `text` alert on the channel that reaches staff, rendered in the operator's language."""
        line = alert_line(self.translator, recipient.language, ticket_id=alert.ticket_id, subject=alert.subject,
                          target=alert.target, stage=alert.stage, seconds=seconds, escape=True)
        return {
            "channel": channel,
            "kind": "text",
            "payload": {"chat_id": recipient.chat_id, "text": f"{ICONS[alert.stage]} {line}", "parse_mode": "HTML"},
            "idempotency_key": f"sla:{alert.ticket_id}:{alert.target}:{alert.stage}:{alert.revision}"
                               f":op:{recipient.operator_id}",
            "order_key": f"tg:{recipient.chat_id}",
        }


async def _record(session: AsyncSession, alerts: Sequence[Alert], now: datetime) -> list[Alert]:
    """Insert the ledger rows; only the alerts whose row is new are emitted."""
    if not alerts:
        return []
    stmt = (
        insert(SlaAlert)
        .on_conflict_do_nothing(constraint="uq_sla_alert_once")
        .returning(SlaAlert.ticket_id, SlaAlert.target, SlaAlert.stage, SlaAlert.revision)
    )
    rows = [
        {"ticket_id": a.ticket_id, "target": a.target, "stage": a.stage, "revision": a.revision,
         "due_at": a.due_at, "created_at": now}
        for a in alerts
    ]
    new = {tuple(row) for row in (await session.execute(stmt, rows)).all()}
    return [alert for alert in alerts if alert.key in new]


def _event_data(alert: Alert) -> dict[str, Any]:
    return {
        "ticket_id": alert.ticket_id,
        "subject": alert.subject,
        "priority": alert.priority,
        "queue_id": alert.queue_id,
        "assignee_id": alert.assignee_id,
        "target": alert.target,
        "stage": alert.stage,
        "due_at": alert.due_at.isoformat(),
    }
