"""The staff group: a Telegram forum supergroup where staff answer tickets, one topic per ticket
(migration 0023). A second way into the same tickets: the topic mirrors the ticket, never the reverse."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, id_column, in_check, now_column

GROUP_STATES = ("ok", "not_forum", "no_rights", "removed")
TOPIC_STATES = ("pending", "open", "closed")


class StaffGroup(Base):
    """A linked group: the default one (`queue_id` empty) or one queue's own. `state` is what the last
    check or delivery found (`ok`, or why topics cannot be made there); admins see it in the panel."""

    __tablename__ = "staff_group"
    __table_args__ = (
        CheckConstraint(in_check("state", GROUP_STATES), name="state"),
        UniqueConstraint("queue_id", name="uq_staff_group_queue_id", postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = id_column()
    chat_id: Mapped[int] = mapped_column(BigInteger)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queue.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255), default="", server_default="")
    state: Mapped[str] = mapped_column(String(16), default="ok", server_default="ok")
    problem: Mapped[str | None] = mapped_column(Text)
    linked_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


class TicketTopic(Base):
    """The one topic of a ticket (the primary key makes two racing first messages open one topic).
    `thread_id` is empty until Telegram made the topic; `shown_up_to` is the last message id the topic
    shows, so a burst of messages goes out merged and nothing is skipped."""

    __tablename__ = "ticket_topic"
    __table_args__ = (
        CheckConstraint(in_check("state", TOPIC_STATES), name="state"),
        UniqueConstraint("chat_id", "thread_id", name="uq_ticket_topic_chat_thread"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    card_message_id: Mapped[int | None] = mapped_column(Integer)
    shown_up_to: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    recreated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The last post of the ticket's lines (migration 0027): the next lines are appended to it by an edit
    # while nothing else went into the topic, it stays under 4096 characters and is a few minutes old.
    last_post_id: Mapped[int | None] = mapped_column(Integer)
    last_post_from: Mapped[int | None] = mapped_column(BigInteger)  # the first message id it shows
    last_post_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = now_column()
