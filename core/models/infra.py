from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import DEAD_LETTER_STATES, OUTBOX_STATES
from core.models.base import Base, id_column, in_check, now_column


class Event(Base):
    """A published state change. Ids grow in commit order (see core.events)."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_created_at", "created_at"),)

    id: Mapped[int] = id_column()
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    audience: Mapped[str] = mapped_column(String(16), default="staff", server_default="staff")
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = now_column()


class EventBatch(Base):
    """A transaction's events on their way to `event`: a deferred trigger moves them there at commit
    (see core.events). Unlogged: a row lives only inside its own transaction."""

    __tablename__ = "event_batch"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    id: Mapped[int] = id_column()
    rows: Mapped[list[Any]]


class OutboxItem(Base):
    """One delivery to do. `order_key` keeps deliveries to one recipient in order."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(in_check("state", OUTBOX_STATES), name="state"),
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
        Index(
            "ix_outbox_order_live",
            "order_key",
            "id",
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
    )

    id: Mapped[int] = id_column()
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    order_key: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = now_column()
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)  # the claiming worker's lease key
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_column()
    done_at: Mapped[datetime | None]


class ProcessedUpdate(Base):
    """Telegram update ids already committed; a redelivered update is skipped."""

    __tablename__ = "processed_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = now_column()


class DeadLetter(Base):
    """An input that could not be handled (a poison Telegram update, a body that is not an update),
    kept with the error so an admin can see it and try it again. Never an input that failed only
    because the database was away: that is waited out."""

    __tablename__ = "dead_letter"
    __table_args__ = (
        CheckConstraint(in_check("state", DEAD_LETTER_STATES), name="state"),
        Index("uq_dead_letter_source_external", "source", "external_id", unique=True,
              postgresql_where=text("external_id IS NOT NULL")),
        Index("ix_dead_letter_open", "created_at", postgresql_where=text("state IN ('failed', 'retry')")),
    )

    id: Mapped[int] = id_column()
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="failed", server_default="failed")
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = id_column()
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = now_column()
