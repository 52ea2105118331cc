"""The outbox channel `email`: kinds `reply` (a stored operator message, in the ticket's thread),
`text` (a ready notice: acknowledgement, alert) and `copy` (an operator's chat reply the visitor has
not seen, to the address they left: `core/services/email_copies.py`). SMTP 4xx and network faults
retry; 5xx fail for good with the server's reply."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import N_, translator_of
from core.mail import ids
from core.mail.channel_spec import NAME as CHANNEL
from core.mail.compose import Outgoing, compose
from core.mail.parse import MailFile
from core.mail.tls import tls_context
from core.models import Attachment, Contact, MailMessage, Message, Ticket
from core.outbox import Delivery, PermanentFailure, RetryLater
from core.services.channel_refs import add_message_refs
from core.services.contacts import address_for_ticket, reply_email_of, seen_of
from core.storage import AttachmentStore

log = logging.getLogger(__name__)

# The lines under a chat reply sent by e-mail (the visitor's language).
COPY_FOOTER = N_("You left this address in the chat on our website for replies you might miss. "
                 "Reply to this e-mail, or go back to the chat.")
COPY_PAGE = N_("The chat was on this page: {page}")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    security: str = "ssl"
    reply_to: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None  # trusted besides the system's CAs (a private mail server)

    @property
    def domain(self) -> str:
        return ids.domain_of(self.sender)


class EmailChannel:
    name = CHANNEL

    def __init__(self, sessions: async_sessionmaker[AsyncSession], storage: AttachmentStore,
                 config: SmtpConfig) -> None:
        self.sessions = sessions
        self.storage = storage
        self.config = config

    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        if delivery.kind == "reply":
            outgoing = await self._reply(delivery)
        elif delivery.kind == "copy":
            copy = await self._copy(delivery)
            if isinstance(copy, dict):
                return copy
            outgoing = copy
        elif delivery.kind == "text":
            outgoing = self._notice(delivery)
        else:
            raise PermanentFailure(f"email channel cannot send kind {delivery.kind!r}")
        await self.send(compose(outgoing, self.config.sender, self.config.reply_to or self.config.sender))
        return {"external_id": outgoing.message_id}

    async def _reply(self, delivery: Delivery) -> Outgoing:
        async with self.sessions() as session:
            message = await session.get(Message, int(delivery.payload["message_id"]))
            ticket = await session.get(Ticket, int(delivery.payload["ticket_id"]))
            if message is None or ticket is None or message.ticket_id != ticket.id:
                raise PermanentFailure("the message or its ticket no longer exists")
            identity = await address_for_ticket(session, ticket)
            if identity is None:
                raise PermanentFailure("the ticket's contact has no email address")
            thread = await _thread_ids(session, ticket.id, message.id, self.config.domain)
            attachments = (await session.scalars(select(Attachment).where(Attachment.message_id == message.id)
                                                 .order_by(Attachment.id))).all()
        files = await self._files(list(attachments))
        inbound = [rfc_id for rfc_id, is_inbound in thread if is_inbound]
        return Outgoing(
            to=identity.external_id,
            subject=ids.reply_subject(ticket.id, ticket.subject),
            text=message.body,
            message_id=ids.reply_id(message.id, ticket.id, self.config.domain),
            in_reply_to=inbound[-1] if inbound else None,
            references=[rfc_id for rfc_id, _ in thread],
            files=files,
        )

    async def _copy(self, delivery: Delivery) -> Outgoing | dict[str, Any]:
        """The chat reply as a mail, or why none is needed any more (recorded as the row's result): the
        widget showed it meanwhile, or the address is gone. Its Message-ID is filed as the message's
        e-mail ref before sending (it is derived, so a retry resends the same id): the visitor's answer
        names it and intake threads it back into the chat's ticket."""
        async with self.sessions() as session, session.begin():
            message = await session.get(Message, int(delivery.payload["message_id"]), with_for_update=True)
            ticket = await session.get(Ticket, int(delivery.payload["ticket_id"]))
            if message is None or ticket is None or message.ticket_id != ticket.id:
                raise PermanentFailure("the message or its ticket no longer exists")
            identity = await address_for_ticket(session, ticket)
            to = reply_email_of(identity)
            if to is None:
                return {"skipped": "no_address"}
            if seen_of(identity) >= message.id:
                log.info("reply copy not needed", extra={"ticket": ticket.id, "message_id": message.id})
                return {"skipped": "seen"}
            contact = await session.get(Contact, ticket.contact_id)
            rfc_id = ids.reply_id(message.id, ticket.id, self.config.domain)
            add_message_refs(message, CHANNEL, [rfc_id])
            attachments = (await session.scalars(select(Attachment).where(Attachment.message_id == message.id)
                                                 .order_by(Attachment.id))).all()
            language = contact.language if contact is not None else "en"
            page = str((identity.visit or {}).get("url") or "") if identity is not None else ""
            translator = translator_of(session)
            footer = translator.gettext(language, COPY_FOOTER)
            if page:
                footer += "\n" + translator.gettext(language, COPY_PAGE, page=page)
            subject, body = ids.reply_subject(ticket.id, ticket.subject), message.body
        files = await self._files(list(attachments))
        return Outgoing(to=to, subject=subject, text=f"{body}\n\n-- \n{footer}", message_id=rfc_id, files=files)

    def _notice(self, delivery: Delivery) -> Outgoing:
        payload = delivery.payload
        to, subject, text = payload.get("to"), payload.get("subject"), payload.get("text")
        if not (isinstance(to, str) and "@" in to and isinstance(subject, str) and isinstance(text, str)):
            raise PermanentFailure("a text mail needs `to`, `subject` and `text`")
        answering = payload.get("in_reply_to")
        ticket_id = payload.get("ticket_id")
        return Outgoing(
            to=to,
            subject=subject,
            text=text,
            message_id=ids.notice_id(delivery.id, int(ticket_id) if ticket_id else None, self.config.domain),
            in_reply_to=answering if isinstance(answering, str) else None,
            references=[answering] if isinstance(answering, str) else [],
            auto_submitted=bool(payload.get("auto_submitted")),
        )

    async def _files(self, attachments: list[Attachment]) -> list[MailFile]:
        files = []
        for item in attachments:
            if item.storage_key is None:
                continue
            try:
                data = await self.storage.read(item.storage_key)
            except OSError as exc:
                raise PermanentFailure(f"attachment {item.file_name} is missing from the store") from exc
            files.append(MailFile(item.file_name, item.content_type, data))
        return files

    async def send(self, message: Any) -> None:
        cfg = self.config
        try:
            await aiosmtplib.send(
                message,
                hostname=cfg.host,
                port=cfg.port,
                username=cfg.user or None,
                password=cfg.password or None,
                use_tls=cfg.security == "ssl",
                start_tls=cfg.security == "starttls",
                tls_context=tls_context(cfg.ca_file) if cfg.security != "plain" else None,
                timeout=cfg.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reply = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if all(400 <= r.code < 500 for r in exc.recipients):
                raise RetryLater(reply) from exc
            raise PermanentFailure(reply) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:  # our configuration, not the customer's mail
            raise RetryLater(f"SMTP login failed: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            reply = f"{exc.code} {exc.message}"
            if 500 <= exc.code < 600:
                raise PermanentFailure(reply) from exc
            raise RetryLater(reply) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise RetryLater(f"{type(exc).__name__}: {exc}") from exc


async def _thread_ids(
    session: AsyncSession, ticket_id: int, before_message: int, domain: str
) -> list[tuple[str, bool]]:
    """The ticket's mails in order: (Message-ID, inbound?) for the customer's and our earlier replies."""
    inbound = (await session.execute(
        select(MailMessage.desk_message_id, MailMessage.rfc_message_id)
        .where(MailMessage.ticket_id == ticket_id, MailMessage.desk_message_id.is_not(None),
               MailMessage.desk_message_id < before_message)
    )).all()
    ours = (await session.scalars(
        select(Message.id).where(Message.ticket_id == ticket_id, Message.author_kind == "operator",
                                 Message.delivery_state == "sent", Message.id < before_message)
    )).all()
    merged = [(int(mid or 0), rfc, True) for mid, rfc in inbound]
    merged += [(mid, ids.reply_id(mid, ticket_id, domain), False) for mid in ours]
    return [(rfc, is_inbound) for _mid, rfc, is_inbound in sorted(merged)]
