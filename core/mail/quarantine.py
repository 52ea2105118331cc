"""Mail set aside: written with the reason, announced to admins, listed for the panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.errors import NotAllowed, NotFound
from core.i18n import N_
from core.models import MailQuarantine, Operator

# Reason codes an admin sees, marked for translation (the panel shows them in the admin's language).
REASONS = {
    "too_large": N_("The mail is larger than the configured limit."),
    "unparseable": N_("The mail could not be read."),
    "no_sender": N_("The mail has no usable sender address."),
    "own_address": N_("The mail came from the desk's own address."),
    "bounce_unmatched": N_("A mail server returned a mail the desk did not send; no ticket was opened."),
    "error": N_("The mail could not be stored."),
}


@dataclass(frozen=True)
class Setaside:
    mailbox: str
    uid: int | None
    uidvalidity: int | None
    reason: str
    detail: str = ""
    rfc_message_id: str | None = None
    sender: str = ""
    subject: str = ""
    size: int = 0
    raw_storage_key: str | None = None


async def quarantine(session: AsyncSession, item: Setaside) -> MailQuarantine:
    row = MailQuarantine(
        mailbox=item.mailbox,
        uid=item.uid,
        uidvalidity=item.uidvalidity,
        rfc_message_id=(item.rfc_message_id or None) and item.rfc_message_id[:1000],
        sender=item.sender[:320],
        subject=item.subject[:512],
        reason=item.reason[:64],
        detail=item.detail[:4000],
        size=item.size,
        raw_storage_key=item.raw_storage_key,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    events.publish(session, "mail.quarantined", quarantine_payload(row), audience="admin")
    return row


def quarantine_payload(row: MailQuarantine) -> dict[str, Any]:
    return {
        "id": row.id,
        "mailbox": row.mailbox,
        "uid": row.uid,
        "message_id": row.rfc_message_id,
        "sender": row.sender,
        "subject": row.subject,
        "reason": row.reason,
        "reason_text": REASONS.get(row.reason, row.reason),
        "detail": row.detail,
        "size": row.size,
        "raw_available": row.raw_storage_key is not None,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "retries": row.retries or 0,
        "retried_at": row.retried_at.isoformat() if row.retried_at else None,
        "resolved": row.resolved_at is not None,
        "ticket_id": row.ticket_id,
    }


def admins_only(actor: Operator) -> None:
    if actor.role != "admin" or not actor.is_active:
        raise NotAllowed("only admins see quarantined mail")


async def list_quarantined(
    session: AsyncSession, actor: Operator, *, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Newest first, those still waiting (a retried mail that went in is kept, but not listed);
    admins only (a quarantined mail may hold anyone's data)."""
    admins_only(actor)
    query = (select(MailQuarantine).where(MailQuarantine.resolved_at.is_(None))
             .order_by(MailQuarantine.id.desc()).limit(max(1, min(limit, 200))))
    if before_id is not None:
        query = query.where(MailQuarantine.id < before_id)
    return [quarantine_payload(row) for row in (await session.scalars(query)).all()]


async def quarantined_raw(session: AsyncSession, actor: Operator, quarantine_id: int) -> MailQuarantine:
    """The quarantined row whose raw mail an admin downloads (NotFound when there is none)."""
    admins_only(actor)
    row = await session.get(MailQuarantine, quarantine_id)
    if row is None or row.raw_storage_key is None:
        raise NotFound("quarantined mail", quarantine_id=quarantine_id)
    return row
