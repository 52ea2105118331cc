from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import LANGUAGES, ROLES
from core.models.base import Base, id_column, in_check, now_column


class Contact(Base):
    """A customer: one person, reachable through any number of identities (`ContactIdentity`).
    `blocked` means every identity of the contact is blocked (core keeps it in step with
    `ContactIdentity.blocked`, which is what deliveries and notices check)."""

    __tablename__ = "contact"
    __table_args__ = (
        CheckConstraint(in_check("language", LANGUAGES), name="language"),
        Index("ix_contact_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
    )

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(256), default="", server_default="")
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_column()


class ContactIdentity(Base):
    """Who the contact is on one channel: a Telegram user id (as text), a lower-cased e-mail address,
    a website visitor id. The channel's adapter owns the meaning of `external_id`; core only finds a
    contact by it and hands it back to the channel as the address of a delivery."""

    __tablename__ = "contact_identity"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_contact_identity_channel_external_id"),
        Index("ix_contact_identity_address_trgm", "external_id", postgresql_using="gin",
              postgresql_ops={"external_id": "gin_trgm_ops"}),
    )

    id: Mapped[int] = id_column()
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(320))
    username: Mapped[str | None] = mapped_column(String(64))  # Telegram's @username, where a channel has one
    display_name: Mapped[str] = mapped_column(String(256), default="", server_default="")  # as the channel last said
    # The channel said this person refuses us here (Telegram: blocked the bot); cleared when they write again.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    blocked_at: Mapped[datetime | None]
    # What the channel last said about where the person is (the website widget: page URL and title,
    # referrer, browser, language, time zone and local time), for the operator's customer card.
    visit: Mapped[dict[str, Any] | None]
    # The e-mail a website visitor typed in the pre-chat form: unverified, so it is only shown to
    # operators and never made an e-mail identity (anyone may type anyone's address).
    given_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = now_column()


class Operator(Base):
    """A panel account. Partners are operators with role 'partner' and store memberships."""

    __tablename__ = "operator"
    __table_args__ = (
        CheckConstraint(in_check("role", ROLES), name="role"),
        CheckConstraint(in_check("language", LANGUAGES), name="language"),
    )

    id: Mapped[int] = id_column()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    time_zone: Mapped[str | None] = mapped_column(String(64))  # IANA name; None: the browser's
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = now_column()
