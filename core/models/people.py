from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import LANGUAGES, ROLES
from core.models.base import Base, id_column, in_check, now_column


class Contact(Base):
    """A customer: a Telegram user and/or an email address."""

    __tablename__ = "contact"
    __table_args__ = (CheckConstraint(in_check("language", LANGUAGES), name="language"),)

    id: Mapped[int] = id_column()
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(256), default="", server_default="")
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    blocked_at: Mapped[datetime | None]
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
