from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    literal_column,
    text,
    type_coerce,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import AUTHOR_KINDS, CHANNEL_NAME_PATTERN, DELIVERY_STATES, PRIORITIES, TICKET_STATUSES
from core.models.base import Base, id_column, in_check, now_column


class Queue(Base):
    __tablename__ = "queue"

    id: Mapped[int] = id_column()
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    # The name Russian-speaking operators read (None: `name` in both languages); see `display_name`.
    name_ru: Mapped[str | None] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    customer_visible: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # An operator's first reply to an unassigned ticket of this queue assigns it to them.
    assign_on_reply: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # New and orphaned tickets go to the queue's online members round robin (core.services.autoassign).
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    def display_name(self, language: str) -> str:
        return queue_display_name(self.name, self.name_ru, language)


def queue_display_name(name: str, name_ru: str | None, language: str) -> str:
    """A queue's name in the reader's language: the Russian one where set, else `name`."""
    return name_ru if language == "ru" and name_ru else name


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint(in_check("status", TICKET_STATUSES), name="status"),
        CheckConstraint(in_check("priority", PRIORITIES), name="priority"),
        # Which channels exist is the adapters' business (core.channels): the name only has a shape.
        CheckConstraint(f"channel ~ '{CHANNEL_NAME_PATTERN}'", name="channel_name"),
        # On a channel of `live_conversations` (open_ticket sets `single_live` from the channel's spec) a
        # customer never gets a second live ticket by accident (double taps, two processes).
        Index(
            "uq_ticket_live_contact_channel",
            "contact_id",
            "channel",
            unique=True,
            postgresql_where=text("status <> 'closed' AND single_live"),
        ),
        Index("ix_ticket_status_updated", "status", "updated_at"),
        # The inbox's default page (every status but closed, newest activity first) read in order, not sorted.
        Index("ix_ticket_live_updated", "updated_at", "id", postgresql_where=text("status <> 'closed'")),
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
        # Issue 20 (migration 0028): every inbox view reads its page in order from an index ("All" and
        # each filter the panel offers), the unread total from a small partial index, and the search
        # from GIN indexes (full text in the 'russian' configuration, which stems Latin words in English
        # too; trigrams for numbers, addresses and partial words).
        Index("ix_ticket_updated_id", "updated_at", "id"),
        Index("ix_ticket_assignee_updated", "assignee_id", "updated_at", "id"),
        Index("ix_ticket_queue_updated", "queue_id", "updated_at", "id"),
        Index("ix_ticket_channel_updated", "channel", "updated_at", "id"),
        Index("ix_ticket_priority_updated", "priority", "updated_at", "id"),
        Index("ix_ticket_unread_live", "unread_count",
              postgresql_where=text("status <> 'closed' AND unread_count > 0")),
        # The dashboard's open tickets per operator (core.services.team), counted from the index (0032).
        Index("ix_ticket_open_assignee", "assignee_id", postgresql_where=text("status <> 'closed'")),
        Index("ix_ticket_subject_fts", text("to_tsvector('russian'::regconfig, subject::text)"),
              postgresql_using="gin"),
        Index("ix_ticket_subject_trgm", "subject", postgresql_using="gin", postgresql_ops={"subject": "gin_trgm_ops"}),
    )

    id: Mapped[int] = id_column()
    subject: Mapped[str] = mapped_column(String(512), default="", server_default="")
    status: Mapped[str] = mapped_column(String(24), default="open", server_default="open")
    priority: Mapped[str] = mapped_column(String(16), default="medium", server_default="medium")
    channel: Mapped[str] = mapped_column(String(16))  # a name of the channel registry (core.channels)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    # The identity the conversation is with: replies and notices go to its address, also after a merge
    # gave the contact a second identity on the channel. None: opened by an operator, no identity.
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("contact_identity.id", ondelete="SET NULL"),
                                                    index=True)
    single_live: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"), index=True)
    # The website (chat widget) the ticket was started from; the site's name shows on the customer card.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"), index=True)
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
        Index("ix_message_body_fts", text("to_tsvector('russian'::regconfig, body)"), postgresql_using="gin"),
        Index("ix_message_body_trgm", "body", postgresql_using="gin", postgresql_ops={"body": "gin_trgm_ops"}),
        # The dashboard's day rollups count a day's operator replies through it (migration 0028).
        Index("ix_message_operator_created", "created_at", "operator_id",
              postgresql_where=text("author_kind = 'operator'")),
    )

    id: Mapped[int] = id_column()
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    author_kind: Mapped[str] = mapped_column(String(16))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    kind: Mapped[str] = mapped_column(String(24), default="text", server_default="text")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    external_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    # The channel's own ids of this message, a list per channel (`core.services.channel_refs`):
    # {telegram: ["812", "813"]} (an album, a reply sent in parts), {"email": ["<id@host>"]}.
    channel_refs: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    delivery_state: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    delivery_error: Mapped[str | None] = mapped_column(Text)
    edit_history: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_column()

    @hybrid_property
    def external_id(self) -> str | None:
        """Read-only: the message's first channel id (of any channel; a message has its ticket's only).
        Kept for readers of the column it replaced; new code asks `channel_refs.message_refs`."""
        return next((str(ids[0]) for ids in self.channel_refs.values() if ids), None)

    @external_id.inplace.expression
    @classmethod
    def _external_id_expression(cls) -> ColumnElement[str | None]:
        first = func.jsonb_path_query_first(cls.channel_refs, literal_column("'$.*[0]'::jsonpath"))
        return type_coerce(first.op("#>>")(literal_column("'{}'::text[]")), String)


class Note(Base):
    """An internal note: operators only, never delivered to the customer."""

    __tablename__ = "note"
    __table_args__ = (
        Index("ix_note_body_fts", text("to_tsvector('russian'::regconfig, body)"), postgresql_using="gin"),
        Index("ix_note_body_trgm", "body", postgresql_using="gin", postgresql_ops={"body": "gin_trgm_ops"}),
    )

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
    # What each channel calls this file, so it is sent again without a new upload:
    # {telegram: "<file_id>", email: "<content-id>"}; the bytes are stored once (storage_key).
    channel_refs: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    problem: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()


class DashboardDay(Base):
    """One UTC day's dashboard figures (core.services.dashboard.day_figures: counts by status, queue,
    channel and operator, response-time histograms, SLA, CSAT, orders) of what was created that day,
    kept by the leader's RefreshRollups job (core.jobs.rollups)."""

    __tablename__ = "dashboard_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(server_default="1")  # core.services.dashboard.ROLLUP_VERSION (0032)
    figures: Mapped[dict[str, Any]]
    computed_at: Mapped[datetime] = now_column()


class DashboardSpan(Base):
    """The day rollups of [start, stop) summed: a calendar month or a week of the month (days 1-7, 8-14,
    15-21, 22 to the end; core.services.dashboard.spans_starting), so a long period reads a few rows.
    Kept by RefreshRollups: a span exists only while it equals the sum of its stored days."""

    __tablename__ = "dashboard_span"

    start: Mapped[date] = mapped_column(Date, primary_key=True)
    stop: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int]  # the ROLLUP_VERSION of the days it sums
    figures: Mapped[dict[str, Any]]
    computed_at: Mapped[datetime] = now_column()
