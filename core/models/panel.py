"""Panel accounts' state: web sessions, personal API tokens, account links, login throttling,
saved replies and presence (who is connected, who is viewing which ticket)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import LANGUAGES
from core.models.base import Base, id_column, in_check, now_column

ACCOUNT_LINK_PURPOSES = ("invite", "reset")


class WebSession(Base):
    """A browser login. The cookie carries a random token; only its digest is stored."""

    __tablename__ = "web_session"

    id: Mapped[int] = id_column()
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(256), default="", server_default="")
    ip: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = now_column()
    last_seen_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiToken(Base):
    """A personal token for scripts (Authorization: Bearer); stored as a digest, shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = id_column()
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = now_column()
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AccountLink(Base):
    """A one-time link that lets an invited or reset operator choose a password."""

    __tablename__ = "account_link"
    __table_args__ = (CheckConstraint(in_check("purpose", ACCOUNT_LINK_PURPOSES), name="purpose"),)

    id: Mapped[int] = id_column()
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed logins per account key (the e-mail as typed, lower-cased): slows, then locks."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]


class SavedReply(Base):
    """A canned answer an operator inserts by typing /shortcut in the reply box."""

    __tablename__ = "saved_reply"
    __table_args__ = (
        CheckConstraint(in_check("language", LANGUAGES), name="language"),
        Index("uq_saved_reply_shortcut_language", "shortcut", "language", unique=True),
    )

    id: Mapped[int] = id_column()
    shortcut: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = now_column()


class Presence(Base):
    """One open panel socket. Rows are refreshed by heartbeats; a stale row means a dead process."""

    __tablename__ = "presence"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    connected_at: Mapped[datetime] = now_column()
    seen_at: Mapped[datetime] = now_column()
