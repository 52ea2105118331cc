"""One parsed mail into the desk, in the caller's transaction: dedupe by Message-ID per mailbox,
thread onto the sender's own ticket or open a new one, store the message, maybe acknowledge."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import Translator
from core.mail import ids
from core.mail.ack import queue_acknowledgement
from core.mail.bounce import DeliveryReport
from core.mail.channel_spec import NAME as CHANNEL
from core.mail.parse import ParsedMail
from core.models import Contact, MailMessage, Message, Ticket
from core.services import conversations
from core.services.channel_refs import refs_of
from core.services.contacts import address_for_ticket, email_address, reply_email_of, sender_of
from core.services.conversations import Inbound, NewAttachment
from core.services.reopening import ticket_for_customer_reply

QUEUE = "email"
log = logging.getLogger(__name__)


class Unusable(Exception):
    """The mail cannot become a ticket message; it goes to quarantine with this reason code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class IntakeOptions:
    mailbox: str
    own_addresses: frozenset[str]
    reopen_window_hours: float
    acknowledge: bool
    default_language: str


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # created | appended | duplicate | bounced | delayed | notice
    ticket_id: int | None = None
    message_id: int | None = None
    acknowledged: bool = False


@dataclass(frozen=True)
class Claim:
    id: int  # the mail_message row
    reused: bool  # another, different mail came earlier under the same Message-ID


class KnownIds:
    """The fingerprints recorded per Message-ID for a group of mails, read in one query instead of one
    per mail (`load`), and kept current as the group's mails are claimed. An id outside the loaded set
    is looked up as before. A claim made in a savepoint that is rolled back is taken back (`restore`).
    Another process (an admin's retry) may change a claim meanwhile; the insert's ON CONFLICT still
    keeps a mail from being stored twice."""

    def __init__(self, mailbox: str, recorded: dict[str, list[str | None]]) -> None:
        self.mailbox = mailbox
        self._recorded = recorded

    @classmethod
    async def load(cls, session: AsyncSession, mailbox: str, rfc_ids: list[str]) -> KnownIds:
        wanted = list(dict.fromkeys(rfc_ids))
        recorded: dict[str, list[str | None]] = {rfc_id: [] for rfc_id in wanted}
        if wanted:
            rows = await session.execute(select(MailMessage.rfc_message_id, MailMessage.fingerprint).where(
                MailMessage.mailbox == mailbox, MailMessage.rfc_message_id.in_(wanted)))
            for rfc_id, fingerprint in rows.all():
                recorded[rfc_id].append(fingerprint)
        return cls(mailbox, recorded)

    def earlier(self, rfc_id: str) -> list[str | None] | None:
        """The recorded fingerprints, or None when this id was not loaded (then ask the database)."""
        found = self._recorded.get(rfc_id)
        return None if found is None else list(found)

    def add(self, rfc_id: str, fingerprint: str) -> None:
        self._recorded.setdefault(rfc_id, []).append(fingerprint)

    def restore(self, rfc_id: str, before: list[str | None] | None) -> None:
        if before is None:
            self._recorded.pop(rfc_id, None)
        else:
            self._recorded[rfc_id] = list(before)


async def claim_message_id(
    session: AsyncSession, mailbox: str, rfc_id: str, fingerprint: str, uid: int | None, sender: str,
    known: KnownIds | None = None,
) -> Claim | None:
    """Record this mail (Message-ID and fingerprint) for this mailbox; None when it was already
    recorded (a duplicate), or when its Message-ID was recorded before fingerprints existed.
    `known` (the group's ids read at once) saves the lookup."""
    earlier = known.earlier(rfc_id) if known is not None and known.mailbox == mailbox else None
    if earlier is None:
        earlier = list((await session.scalars(select(MailMessage.fingerprint).where(
            MailMessage.mailbox == mailbox, MailMessage.rfc_message_id == rfc_id))).all())
    if None in earlier or fingerprint in earlier:
        return None
    stmt = (
        insert(MailMessage)
        .values(mailbox=mailbox, rfc_message_id=rfc_id, fingerprint=fingerprint, uid=uid, sender=sender[:320])
        .on_conflict_do_nothing(constraint="uq_mail_message_mailbox_rfc_id_fingerprint")
        .returning(MailMessage.id)
    )
    index_id = (await session.execute(stmt)).scalar_one_or_none()
    if index_id is None:
        return None
    if known is not None and known.mailbox == mailbox:
        known.add(rfc_id, fingerprint)
    return Claim(index_id, bool(earlier))


async def ingest_mail(
    session: AsyncSession,
    translator: Translator,
    mail: ParsedMail,
    files: tuple[NewAttachment, ...],
    options: IntakeOptions,
    uid: int | None = None,
    known: KnownIds | None = None,
) -> IntakeResult:
    """`known`: the Message-IDs of the caller's group of mails, read at once (see `KnownIds`)."""
    claim = await claim_message_id(session, options.mailbox, mail.message_id, mail.fingerprint, uid, mail.address,
                                   known)
    if claim is None:
        return IntakeResult("duplicate")
    index_id = claim.id
    if claim.reused:
        log.warning("mail reuses a Message-ID", extra={"mailbox": options.mailbox, "message_id": mail.message_id[:200]})
    if mail.notice is not None:
        return await _delivery_notice(session, mail.notice, index_id)
    if mail.report is not None:
        bounced = await _bounce_of_ours(session, mail, index_id)
        if bounced is None:
            raise Unusable("bounce_unmatched", _unmatched(mail))
        return bounced
    if not mail.address:
        raise Unusable("no_sender", "no usable From, Sender or Return-Path address")
    if mail.address in options.own_addresses:
        raise Unusable("own_address", f"mail from our own address {mail.address}")
    candidates = await _candidates(session, mail, options)
    chat = await _chat_ticket(session, mail, options, candidates)
    if chat is not None:
        return await _into_chat(session, chat, mail, files, options, claim)
    language = mail.language or options.default_language
    # The sender's contact and the identity they write from, in one read (no second lookup for a new ticket).
    contact, identity = await sender_of(session, CHANNEL, email_address(mail.address), name=mail.name,
                                        language=language)
    ticket = await _thread(session, contact, options, candidates)
    created = ticket is None
    if ticket is None:
        ticket, _ = await conversations.open_ticket(
            session, contact=contact, channel=CHANNEL, queue_slug=QUEUE, subject=mail.subject or "(no subject)",
            identity=identity,
        )
    inbound = mail_inbound(mail, files, options.mailbox, claim.reused)
    message = await conversations.customer_wrote(session, ticket, inbound)
    if message is None:  # the same Message-ID under another index row cannot happen; keep it honest
        return IntakeResult("duplicate", ticket.id)
    await session.execute(
        update(MailMessage).where(MailMessage.id == index_id).values(ticket_id=ticket.id, desk_message_id=message.id)
    )
    acknowledged = False
    if created and options.acknowledge and mail.auto is None:
        acknowledged = await queue_acknowledgement(
            session, translator, ticket=ticket, contact=contact, language=language, answering=mail.message_id
        )
    return IntakeResult("created" if created else "appended", ticket.id, message.id, acknowledged)


async def _candidates(session: AsyncSession, mail: ParsedMail, options: IntakeOptions) -> list[int]:
    """Tickets this mail may answer, nearest first: those of the mails it names (In-Reply-To,
    References), else the ticket tagged in its subject. Read once for both the chat and the e-mail
    threading."""
    candidates = await _tickets_by_headers(session, options.mailbox, mail.thread_ids)
    if not candidates and (tagged := ids.ticket_in_subject(mail.subject)) is not None:
        candidates = [tagged]
    return candidates


async def _chat_ticket(session: AsyncSession, mail: ParsedMail, options: IntakeOptions,
                       candidates: list[int]) -> Ticket | None:
    """The chat ticket (another channel's) whose reply copy this mail answers, when it comes from the
    address the visitor left there (`reply_email_of`). Anyone else answering a forwarded copy gets a
    ticket of their own, as any sender does: the chat is not theirs to write into."""
    for ticket_id in candidates:
        ticket = await session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None or ticket.channel == CHANNEL:
            continue
        if reply_email_of(await address_for_ticket(session, ticket)) == email_address(mail.address):
            return await ticket_for_customer_reply(session, ticket, options.reopen_window_hours)
    return None


async def _into_chat(session: AsyncSession, ticket: Ticket, mail: ParsedMail, files: tuple[NewAttachment, ...],
                     options: IntakeOptions, claim: Claim) -> IntakeResult:
    """The visitor's mailed answer as their own message in the chat's ticket (no acknowledgement: the
    conversation is going on)."""
    message = await conversations.customer_wrote(session, ticket, mail_inbound(mail, files, options.mailbox,
                                                                                claim.reused))
    if message is None:
        return IntakeResult("duplicate", ticket.id)
    await session.execute(
        update(MailMessage).where(MailMessage.id == claim.id).values(ticket_id=ticket.id, desk_message_id=message.id)
    )
    log.info("mail answered a chat", extra={"ticket": ticket.id, "channel": ticket.channel, "message_id": message.id})
    return IntakeResult("appended", ticket.id, message.id)


async def _bounce_of_ours(session: AsyncSession, mail: ParsedMail, index_id: int) -> IntakeResult | None:
    """A delivery report returning a mail we sent: the reply it returns is marked failed with the
    report's reason, and the ticket gets a line saying so. No ticket is opened and nobody is answered.
    None for a bounce of a mail that is not ours (the caller sets it aside for an admin)."""
    assert mail.report is not None
    for rfc_id, ticket in await _our_tickets(session, mail.report.original_ids):
        reason = mail.report.status or mail.subject or "delivery failed"
        reply = ids.message_of_our_reply(rfc_id)
        message = await session.get(Message, reply[0], with_for_update=True) if reply else None
        if message is not None and message.ticket_id == ticket.id and message.author_kind == "operator":
            message.delivery_state = "failed"
            message.delivery_error = f"bounced: {reason}"[:1000]
            await conversations.publish_message_update(session, message)
        await conversations.system_message(session, ticket, f"A mail to the customer bounced: {reason}",
                                           line="bounced", reason=reason)
        await session.execute(update(MailMessage).where(MailMessage.id == index_id).values(ticket_id=ticket.id))
        log.info("mail bounced", extra={"ticket": ticket.id, "message_id": message.id if message else None})
        return IntakeResult("bounced", ticket.id, message.id if message is not None else None)
    return None


async def _our_tickets(session: AsyncSession, rfc_ids: list[str]) -> list[tuple[str, Ticket]]:
    """The email tickets of the mails we sent among these Message-IDs, in their order."""
    found = []
    for rfc_id in rfc_ids:
        ticket_id = ids.ticket_of_our_id(rfc_id)
        ticket = await session.get(Ticket, ticket_id) if ticket_id else None
        if ticket is not None and ticket.channel == CHANNEL:
            found.append((rfc_id, ticket))
    return found


async def _delivery_notice(session: AsyncSession, notice: DeliveryReport, index_id: int) -> IntakeResult:
    """A server's word that a mail is delayed (it keeps trying) or was delivered: no failure, so no
    ticket and no quarantine. A delay of a mail we sent puts a line on its ticket; the rest is logged."""
    ours = await _our_tickets(session, notice.original_ids)
    if not ours or not notice.delayed:
        log.info("delivery notice noted", extra={"delayed": notice.delayed, "about": notice.original_ids[:3]})
        return IntakeResult("notice")
    ticket = ours[0][1]
    reason = notice.status or "no reason given"
    await conversations.system_message(session, ticket, f"A mail to the customer is delayed; the server keeps trying: "
                                       f"{reason}", line="delivery_delayed", reason=reason)
    await session.execute(update(MailMessage).where(MailMessage.id == index_id).values(ticket_id=ticket.id))
    log.info("mail delayed", extra={"ticket": ticket.id})
    return IntakeResult("delayed", ticket.id)


def _unmatched(mail: ParsedMail) -> str:
    assert mail.report is not None
    kind = "delivery report" if mail.report.kind == "dsn" else "non-delivery mail"
    about = ", ".join(mail.report.original_ids[:3]) or "no Message-ID"
    reason = mail.report.status or mail.subject or "no reason given"
    return f"{kind} from {mail.address or '<>'} about {about}, none of them ours: {reason}"


async def _thread(session: AsyncSession, contact: Contact, options: IntakeOptions,
                  candidates: list[int]) -> Ticket | None:
    """The sender's own email ticket this mail answers, or None (then a new ticket is opened).
    A match on someone else's ticket never leaks into it (a Message-ID reused by different mails
    may point at several tickets: the sender's own one is taken)."""
    for ticket_id in candidates:
        ticket = await session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is not None and ticket.channel == CHANNEL and ticket.contact_id == contact.id:
            return await ticket_for_customer_reply(session, ticket, options.reopen_window_hours)
    return None


async def _tickets_by_headers(session: AsyncSession, mailbox: str, thread_ids: list[str]) -> list[int]:
    """Tickets of the mails this one answers, nearest first (the newest mail first under one id)."""
    if not thread_ids:
        return []
    rows = (
        await session.execute(
            select(MailMessage.rfc_message_id, MailMessage.ticket_id).where(
                MailMessage.mailbox == mailbox,
                MailMessage.rfc_message_id.in_(thread_ids[:50]),
                MailMessage.ticket_id.is_not(None),
            ).order_by(MailMessage.id.desc())
        )
    ).all()
    known: dict[str, list[int]] = {}
    for rfc_id, ticket_id in rows:
        known.setdefault(rfc_id, []).append(int(ticket_id or 0))
    found: list[int] = []
    for rfc_id in thread_ids:
        ours = ids.ticket_of_our_id(rfc_id)
        for ticket_id in known.get(rfc_id) or ([ours] if ours else []):
            if ticket_id not in found:
                found.append(ticket_id)
    return found


def mail_inbound(mail: ParsedMail, files: tuple[NewAttachment, ...], mailbox: str, reused: bool) -> Inbound:
    """What intake stores for a mail; also the e-mail adapter's parse (`core/mail/adapter.py`)."""
    body = mail.text
    if len(body) > conversations.MAX_BODY:
        body = body[: conversations.MAX_BODY - 200].rstrip() + "\n\n[…]"
    meta = {
        "email": {
            "message_id": mail.message_id,
            "from": mail.address,
            "subject": mail.subject,
            "html_only": mail.html_only,
            "auto": mail.auto,
            "problems": [*mail.problems, *(["Message-ID reused by a different mail"] if reused else [])],
        }
    }
    return Inbound(
        body=body,
        kind="file" if files and not body else "text",
        external_key=ids.external_key(mailbox, mail.message_id, mail.fingerprint),
        channel_refs=refs_of(CHANNEL, [mail.message_id[:512]]),
        meta=meta,
        attachments=files,
    )
