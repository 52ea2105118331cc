from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import AUTHOR_KINDS, CHANNELS, DELIVERY_STATES, PRIORITIES, TICKET_STATUSES
from core.models.base import Base, id_column, in_check, now_column


class Queue(Base):
    __tablename__ = "queue"

    id: Mapped[int] = id_column()
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    customer_visible: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint(in_check("status", TICKET_STATUSES), name="status"),
        CheckConstraint(in_check("priority", PRIORITIES), name="priority"),
        CheckConstraint(in_check("channel", CHANNELS), name="channel"),
        # A customer never gets a second live Telegram ticket by accident (double taps, two processes).
        Index(
            "uq_ticket_live_telegram_contact",
            "contact_id",
            unique=True,
            postgresql_where=text("status <> 'closed' AND channel = 'telegram'"),
        ),
        Index("ix_ticket_status_updated", "status", "updated_at"),
        # SLA: the watch reads only tickets whose next check is due; housekeeping finds its few rows.
        Index("ix_ticket_sla_next_check", "sla_next_check_at", postgresql_where=text("sla_next_check_at IS NOT NULL")),
        Index("ix_ticket_waiting_since", "sla_paused_at", postgresql_where=text("status = 'waiting_customer'")),
        Index("ix_ticket_resolved_at", "resolved_at", postgresql_where=text("status = 'closed'")),
        Index(
            "ix_ticket_frt_pending",
            "frt_due_at",
            postgresql_where=text("first_response_at IS NULL AND status NOT IN ('closed', 'waiting_customer')"),
        ),
        Index("ix_ticket_ttr_running", "ttr_due_at",
              postgresql_where=text("status <> 'closed' AND sla_paused_at IS NULL")),
        Index("ix_ticket_created_at", "created_at"),
    )

    id: Mapped[int] = id_column()
    subject: Mapped[str] = mapped_column(String(512), default="", server_default="")
    status: Mapped[str] = mapped_column(String(24), default="open", server_default="open")
    priority: Mapped[str] = mapped_column(String(16), default="medium", server_default="medium")
    channel: Mapped[str] = mapped_column(String(16))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"), index=True)
    unread_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    last_customer_message_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    frt_due_at: Mapped[datetime | None]
    ttr_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # SLA clocks (core.sla): start, pause bookkeeping, deadline revision, next moment the watch looks.
    sla_started_at: Mapped[datetime | None]
    sla_paused_at: Mapped[datetime | None]
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sla_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sla_next_check_at: Mapped[datetime | None]


class Message(Base):
    """One message of a dialog, either way. `external_key` makes intake idempotent."""

    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint(in_check("author_kind", AUTHOR_KINDS), name="author_kind"),
        CheckConstraint(in_check("delivery_state", DELIVERY_STATES), name="delivery_state"),
        Index("ix_message_ticket_id_id", "ticket_id", "id"),
    )

    id: Mapped[int] = id_column()
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    author_kind: Mapped[str] = mapped_column(String(16))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    kind: Mapped[str] = mapped_column(String(24), default="text", server_default="text")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    external_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(512))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    delivery_state: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    delivery_error: Mapped[str | None] = mapped_column(Text)
    edit_history: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_column()


class Note(Base):
    """An internal note: operators only, never delivered to the customer."""

    __tablename__ = "note"

    id: Mapped[int] = id_column()
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()


class Attachment(Base):
    __tablename__ = "attachment"
    __table_args__ = (
        CheckConstraint("message_id IS NOT NULL OR note_id IS NOT NULL", name="owner"),
    )

    id: Mapped[int] = id_column()
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    note_id: Mapped[int | None] = mapped_column(ForeignKey("note.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    storage_key: Mapped[str | None] = mapped_column(String(255))
    telegram_file_id: Mapped[str | None] = mapped_column(String(255))
    problem: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()
