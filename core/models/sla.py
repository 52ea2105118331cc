"""SLA tables: policies, business calendars, queue members, and the ledgers that make alerts and
notices happen exactly once (a unique row inserted in the same transaction as the effect)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import PRIORITIES
from core.models.base import Base, id_column, in_check, now_column

SLA_TARGETS = ("first_response", "resolution")
SLA_STAGES = ("warning", "breach")


class SlaPolicy(Base):
    """An admin's override of the built-in defaults for one priority (core.sla.policy.DEFAULTS)."""

    __tablename__ = "sla_policy"
    __table_args__ = (
        CheckConstraint(in_check("priority", PRIORITIES), name="priority"),
        CheckConstraint("first_response_minutes > 0 AND resolution_minutes > 0", name="positive"),
    )

    priority: Mapped[str] = mapped_column(String(16), primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = now_column()


class BusinessHours(Base):
    """A queue's working week in its own time zone. `weekly` maps mon..sun to [["09:00", "18:00"], ...]."""

    __tablename__ = "business_hours"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id", ondelete="CASCADE"), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = now_column()


class BusinessHoliday(Base):
    """A whole local day on which a queue with business hours does not work."""

    __tablename__ = "business_holiday"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="", server_default="")


class QueueMember(Base):
    """An operator who works a queue: gets its SLA alerts while a ticket there is unassigned, and its
    tickets when the queue assigns automatically (`last_assigned_at`: the round robin's position)."""

    __tablename__ = "queue_member"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id", ondelete="CASCADE"), primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operator.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_assigned_at: Mapped[datetime | None]


class SlaAlert(Base):
    """One warning or breach of one deadline revision of one ticket; the unique key is the
    exactly-once guarantee across leader hand-overs."""

    __tablename__ = "sla_alert"
    __table_args__ = (
        CheckConstraint(in_check("target", SLA_TARGETS), name="target"),
        CheckConstraint(in_check("stage", SLA_STAGES), name="stage"),
        UniqueConstraint("ticket_id", "target", "stage", "revision", name="uq_sla_alert_once"),
    )

    id: Mapped[int] = id_column()
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(8))
    revision: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = now_column()


class TicketNotice(Base):
    """A notice sent to a customer by a housekeeping job (auto-close warning, rating request).
    `ref` scopes it (e.g. which waiting period), so each is sent once."""

    __tablename__ = "ticket_notice"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "ref", name="uq_ticket_notice_once"),
    )

    id: Mapped[int] = id_column()
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ticket.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64), default="", server_default=text("''"))
    created_at: Mapped[datetime] = now_column()
