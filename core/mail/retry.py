"""An admin tries a quarantined mail again, after its cause (a setting, a bug, an outage) is fixed:
intake runs once more on the bytes as received, in the caller's transaction. A mail that goes in is
marked resolved (kept, with who and when; every attempt is also in the audit log); one that still
cannot stays quarantined with the new reason."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, or_
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.errors import Conflict, NotFound
from core.i18n import Translator
from core.mail.files import store_files
from core.mail.intake import IntakeOptions, IntakeResult, Unusable, ingest_mail
from core.mail.parse import parse_mail
from core.mail.quarantine import admins_only, quarantine_payload
from core.models import MailMessage, MailQuarantine, Operator
from core.services import audit
from core.storage import AttachmentStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intake:
    """What intake needs besides the mail: where files go, the texts, the options for a mailbox."""

    storage: AttachmentStore
    translator: Translator
    options_for: Callable[[str], IntakeOptions]


@dataclass(frozen=True)
class RetryOutcome:
    quarantine_id: int
    resolved: bool
    outcome: str  # created | appended | bounced | duplicate (resolved) | quarantined (still)
    ticket_id: int | None = None
    message_id: int | None = None
    reason: str = ""  # the reason it is still quarantined
    detail: str = ""


async def retry_quarantined(
    session: AsyncSession, actor: Operator, quarantine_id: int, intake: Intake
) -> RetryOutcome:
    """Admins only. NotFound for an unknown or already resolved row; Conflict when the mail's bytes
    were never kept (too large) or are gone."""
    admins_only(actor)
    row = await session.get(MailQuarantine, quarantine_id, with_for_update=True)
    if row is None or row.resolved_at is not None:
        raise NotFound("quarantined mail", quarantine_id=quarantine_id)
    raw = await _raw(intake.storage, row)
    result, reason, detail = await _ingest(session, row, raw, intake)
    now = datetime.now(UTC)
    row.retries = (row.retries or 0) + 1
    row.retried_at = now
    if result is not None:
        row.resolved_at, row.resolved_by_id, row.ticket_id = now, actor.id, result.ticket_id
    else:
        row.reason, row.detail = reason[:64], detail[:4000]
    outcome = result.outcome if result is not None else "quarantined"
    audit.record(session, actor_kind="operator", actor_id=actor.id, action="mail.quarantine_retried",
                 object_type="mail_quarantine", object_id=row.id, outcome=outcome, reason=row.reason,
                 ticket_id=row.ticket_id)
    await session.flush()
    events.publish(session, "mail.retried", {**quarantine_payload(row), "outcome": outcome}, audience="admin")
    log.info("quarantined mail retried", extra={"quarantine_id": row.id, "outcome": outcome, "actor": actor.id})
    return RetryOutcome(row.id, result is not None, outcome, row.ticket_id,
                        result.message_id if result is not None else None,
                        "" if result is not None else row.reason, "" if result is not None else row.detail)


async def _raw(storage: AttachmentStore, row: MailQuarantine) -> bytes:
    if row.raw_storage_key is None:
        raise Conflict("the mail was not kept (too large), so it cannot be tried again", reason=row.reason)
    try:
        return await storage.read(row.raw_storage_key)
    except FileNotFoundError as exc:
        raise Conflict("the quarantined mail's file is gone") from exc


async def _ingest(
    session: AsyncSession, row: MailQuarantine, raw: bytes, intake: Intake
) -> tuple[IntakeResult | None, str, str]:
    """(result, "", "") when the mail went in; (None, reason, detail) when it still cannot. Its
    writes are undone in that case (a savepoint), the caller's are not."""
    try:
        mail = parse_mail(raw)
    except Exception as exc:
        return None, "unparseable", f"{type(exc).__name__}: {exc}"
    try:
        files = await store_files(intake.storage, mail)
        async with session.begin_nested():
            await _release_claim(session, row.mailbox, mail.message_id, mail.fingerprint)
            result = await ingest_mail(session, intake.translator, mail, files, intake.options_for(row.mailbox),
                                       row.uid)
    except Unusable as exc:
        return None, exc.reason, exc.detail
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("quarantined mail could not be stored", extra={"quarantine_id": row.id})
        return None, "error", f"{type(exc).__name__}: {exc}"
    return result, "", ""


async def _release_claim(session: AsyncSession, mailbox: str, rfc_id: str, fingerprint: str) -> None:
    """Quarantine claimed the Message-ID (so the poller never takes it twice); give it back to intake.
    A claim that led somewhere (the mail went in by another way) stays, and intake calls it a duplicate."""
    await session.execute(delete(MailMessage).where(
        MailMessage.mailbox == mailbox, MailMessage.rfc_message_id == rfc_id,
        or_(MailMessage.fingerprint == fingerprint, MailMessage.fingerprint.is_(None)),
        MailMessage.ticket_id.is_(None), MailMessage.desk_message_id.is_(None)))
