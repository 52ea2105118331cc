"""Mailbox intake state: where the poller stopped, which Message-IDs it stored, what it set aside."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, id_column, now_column


class MailboxState(Base):
    """UIDVALIDITY and the highest UID committed for one mailbox (user@host/folder)."""

    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(255), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = now_column()


class MailMessage(Base):
    """A mail seen in a mailbox, by Message-ID and content fingerprint: the exactly-once key of
    intake (a redelivered copy is the same pair) and the thread index. A different mail reusing a
    Message-ID gets a row of its own. Rows from before fingerprints have none (NULL): such an id
    counts as taken by whatever mail comes under it."""

    __tablename__ = "mail_message"
    __table_args__ = (UniqueConstraint("mailbox", "rfc_message_id", "fingerprint",
                                       name="uq_mail_message_mailbox_rfc_id_fingerprint"),)

    id: Mapped[int] = id_column()
    mailbox: Mapped[str] = mapped_column(String(255))
    rfc_message_id: Mapped[str] = mapped_column(String(1000))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    uid: Mapped[int | None] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(320), default="", server_default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), index=True)
    desk_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = now_column()


class MailQuarantine(Base):
    """A mail that could not become a ticket message, kept with the reason for an admin to see."""

    __tablename__ = "mail_quarantine"
    __table_args__ = (Index("ix_mail_quarantine_mailbox_id", "mailbox", "id"),)

    id: Mapped[int] = id_column()
    mailbox: Mapped[str] = mapped_column(String(255))
    uid: Mapped[int | None] = mapped_column(BigInteger)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    rfc_message_id: Mapped[str | None] = mapped_column(String(1000))
    sender: Mapped[str] = mapped_column(String(320), default="", server_default="")
    subject: Mapped[str] = mapped_column(String(512), default="", server_default="")
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    raw_storage_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = now_column()
    # An admin's "Try again" (each attempt is also in the audit log): how often, when last, and
    # once it went in, when, by whom and into which ticket. Resolved rows stay for the record.
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retried_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
