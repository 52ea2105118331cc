"""The website chat widget's own rows: the sites that embed it (each with its public key and the origins
allowed) and the receipts of visitors' frames (the idempotency record that lets a widget resend a message
after a dropped connection without it being stored or answered twice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, id_column, in_check, now_column

PRECHAT_MODES = ("off", "optional", "required")


class Site(Base):
    """A website that embeds the chat widget: several per store, or the desk's own (no store). The key
    is public (it sits in the site's pages): what protects the widget is the Origin check against
    `origins` and the visitor's signed token, not the key's secrecy."""

    __tablename__ = "site"
    __table_args__ = (CheckConstraint(in_check("prechat", PRECHAT_MODES), name="prechat"),)

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    origins: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    # Secret: the shop's backend signs its logged-in users' ids with it (HMAC-SHA256), so a visitor can
    # be one of the shop's users on every device (web/widget/tokens.py `user_hash`). Admins may renew it.
    secret: Mapped[str] = mapped_column(String(64))
    # What the widget shows of the site: a greeting above the conversation, its colour, working hours.
    greeting: Mapped[str] = mapped_column(String(500), default="", server_default="")
    color: Mapped[str] = mapped_column(String(7), default="#2563eb", server_default="#2563eb")
    hours: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Where the site's tickets go (None: the topic the visitor picks) and whose site it is (None: the desk's).
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queue.id", ondelete="SET NULL"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"), index=True)
    # The form a visitor fills before the first message: off, optional (may skip) or required.
    prechat: Mapped[str] = mapped_column(String(16), default="off", server_default="off")
    created_at: Mapped[datetime] = now_column()


class WidgetReceipt(Base):
    """A visitor's frame that was handled, by its client id: a resent frame gets the stored answers
    back instead of running the dialogue again."""

    __tablename__ = "widget_receipt"

    visitor: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answers: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    created_at: Mapped[datetime] = now_column()
