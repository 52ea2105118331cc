"""Stores, their staff and products, orders with items, transition history and partner alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import LANGUAGES
from core.models.base import Base, id_column, in_check, now_column
from core.orders.statuses import ORDER_KINDS, ORDER_STATUSES


class Store(Base):
    """A partner. Its API token is kept only as a digest; reminder delays are per store."""

    __tablename__ = "store"
    __table_args__ = (
        CheckConstraint("remind_after_minutes > 0", name="remind_after"),
        CheckConstraint("escalate_after_minutes > 0", name="escalate_after"),
    )

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3), default="RUB", server_default="RUB")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")  # IANA name
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    api_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    remind_after_minutes: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    escalate_after_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    created_at: Mapped[datetime] = now_column()


class StoreMember(Base):
    """A store's staff member: a Telegram user (who gets alerts) and/or a partner panel account."""

    __tablename__ = "store_member"
    __table_args__ = (
        CheckConstraint("telegram_user_id IS NOT NULL OR operator_id IS NOT NULL", name="identity"),
        CheckConstraint(in_check("language", LANGUAGES), name="language"),
        UniqueConstraint("store_id", "telegram_user_id", name="uq_store_member_store_telegram"),
        UniqueConstraint("store_id", "operator_id", name="uq_store_member_store_operator"),
    )

    id: Mapped[int] = id_column()
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"), index=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    joined_at: Mapped[datetime] = now_column()


class StoreInvite(Base):
    """A single-use, expiring invitation to join a store's staff; only the token's digest is kept."""

    __tablename__ = "store_invite"

    id: Mapped[int] = id_column()
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("store_member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = now_column()


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (CheckConstraint("price_minor >= 0", name="price"),)

    id: Mapped[int] = id_column()
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="RUB", server_default="RUB")
    available: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # What Telegram sends as the photo: a URL or Telegram file id (set from the CLI, or cached after
    # the first send of an uploaded photo); photo_key: the uploaded file in the attachment store.
    photo: Mapped[str | None] = mapped_column(String(512))
    photo_key: Mapped[str | None] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = now_column()


class Order(Base):
    """An order or a booking. `status` moves only through core.orders.statuses.TRANSITIONS."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(in_check("status", ORDER_STATUSES), name="status"),
        CheckConstraint(in_check("kind", ORDER_KINDS), name="kind"),
        # The dashboard rollups find the days of orders that changed since their last pass (migration 0028).
        Index("ix_orders_updated_at", "updated_at"),
        CheckConstraint(in_check("language", LANGUAGES), name="language"),
        CheckConstraint("total_minor >= 0", name="total"),
        CheckConstraint("party_size IS NULL OR party_size > 0", name="party_size"),
        Index("ix_orders_status_created_at", "status", "created_at"),
        Index("ix_orders_store_id_created_at", "store_id", "created_at"),
    )

    id: Mapped[int] = id_column()
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    source: Mapped[str] = mapped_column(String(16))  # a channel name, or "panel"; checked by core.orders.placing
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    customer_name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    customer_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    scheduled_at: Mapped[datetime | None]
    party_size: Mapped[int | None] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="RUB", server_default="RUB")
    reason: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


class OrderItem(Base):
    """A line of an order, with the name and price the customer agreed to (products change later)."""

    __tablename__ = "order_item"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(128))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)


class OrderTransition(Base):
    """Every status change: who, when, from, to, why."""

    __tablename__ = "order_transition"
    __table_args__ = (Index("ix_order_transition_order_id_id", "order_id", "id"),)

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()


class OrderAlert(Base):
    """Which Telegram message shows which order to which member, so a change edits it in place."""

    __tablename__ = "order_alert"
    __table_args__ = (UniqueConstraint("order_id", "member_id", name="uq_order_alert_order_member"),)

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("store_member.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = now_column()


class OrderIntakeKey(Base):
    """An Idempotency-Key seen on POST /api/orders: a retry returns the same order."""

    __tablename__ = "order_intake_key"
    __table_args__ = (UniqueConstraint("store_id", "key", name="uq_order_intake_key_store_key"),)

    id: Mapped[int] = id_column()
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    body_digest: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = now_column()
