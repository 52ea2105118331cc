"""Tables of the Telegram support area: knowledge base, ratings, FSM state, presence, links, flood."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from core.domain import LANGUAGES
from core.models.base import Base, id_column, in_check, now_column

_CONFIG = "CASE WHEN language = 'ru' THEN 'russian'::regconfig ELSE 'english'::regconfig END"
# Title, tags and example questions are weight A (what an article is about), the body B: the search
# tells a word of the article's head from one of its text (`lexeme:A` in a tsquery). Migration 0020.
SEARCH_VECTOR = (
    f"setweight(to_tsvector({_CONFIG}, coalesce(title, '')), 'A') || "
    f"setweight(jsonb_to_tsvector({_CONFIG}, tags, '[\"string\"]'), 'A') || "
    f"setweight(jsonb_to_tsvector({_CONFIG}, examples, '[\"string\"]'), 'A') || "
    f"setweight(to_tsvector({_CONFIG}, coalesce(body, '')), 'B')"
)


class Article(Base):
    """A knowledge-base article (Markdown body). `slug` keeps imports idempotent."""

    __tablename__ = "article"
    __table_args__ = (
        CheckConstraint(in_check("language", LANGUAGES), name="language"),
        Index("ix_article_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_article_title_trgm", "title", postgresql_using="gin", postgresql_ops={"title": "gin_trgm_ops"}),
        Index("ix_article_language_published", "language", "published"),
    )

    id: Mapped[int] = id_column()
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    links: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    tags: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    # Questions as customers ask them that should find this article; they count as the title does.
    examples: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    helpful_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_helpful_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_VECTOR, persisted=True), deferred=True)
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


class KbSynonym(Base):
    """A group of words the search treats as one (shipping = delivery), per language; admins add
    them beside the built-in dictionary (core/kb/synonyms.py)."""

    __tablename__ = "kb_synonym"
    __table_args__ = (CheckConstraint(in_check("language", LANGUAGES), name="language"),)

    id: Mapped[int] = id_column()
    language: Mapped[str] = mapped_column(String(8))
    terms: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    created_at: Mapped[datetime] = now_column()


class KbWord(Base):
    """The knowledge base's lexemes per language with the number of articles holding each (ts_stat),
    which the search corrects a customer's typo against (trigram). Rebuilt after article writes."""

    __tablename__ = "kb_word"
    __table_args__ = (
        Index("ix_kb_word_trgm", "word", postgresql_using="gin", postgresql_ops={"word": "gin_trgm_ops"}),
    )

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    word: Mapped[str] = mapped_column(Text, primary_key=True)
    ndoc: Mapped[int] = mapped_column(Integer)


class KbVersion(Base):
    """One counter (a single row) that triggers on `article` and `kb_synonym` bump whenever what the
    search reads changes; each process reloads its in-memory vocabulary when it moved (core/kb/lexicon.py,
    migration 0027)."""

    __tablename__ = "kb_version"
    __table_args__ = (CheckConstraint("id = 1", name="single"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, server_default="1")
    token: Mapped[uuid.UUID] = mapped_column(Uuid, server_default=text("gen_random_uuid()"))  # which database


class KbMiss(Base):
    """A customer question the knowledge base did not answer: no article (`miss`), the answer "did
    not help" (`not_helped`) or a handoff right after it (`handoff`). Admins turn them into example
    questions; pruned after 90 days (core.jobs.prune). `question_key`: the question's sorted stems,
    what groups the same question asked in other words. Migration 0021."""

    __tablename__ = "kb_miss"
    __table_args__ = (
        CheckConstraint(in_check("language", LANGUAGES), name="language"),
        CheckConstraint("outcome IN ('miss', 'not_helped', 'handoff')", name="outcome"),
        Index("ix_kb_miss_language_key", "language", "question_key"),
        Index("ix_kb_miss_created_at", "created_at"),
    )

    id: Mapped[int] = id_column()
    language: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    question_key: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = now_column()


class ArticleFeedback(Base):
    """One vote per contact and article; a second press changes the vote, never counts twice.
    `question_key` (the question's sorted stems) lets the vote adjust the ranking for that question."""

    __tablename__ = "article_feedback"
    __table_args__ = (UniqueConstraint("article_id", "contact_id", name="uq_article_feedback_article_contact"),
                      Index("ix_article_feedback_question_key", "question_key", "article_id"))

    id: Mapped[int] = id_column()
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    query: Mapped[str] = mapped_column(Text, default="", server_default="")
    question_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = now_column()


class TicketRating(Base):
    __tablename__ = "ticket_rating"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index("ix_ticket_rating_created_at", "created_at"),  # the dashboard's day rollups (migration 0028)
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()


class FsmState(Base):
    """aiogram FSM state, so a restart or another process continues the conversation."""

    __tablename__ = "fsm_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    updated_at: Mapped[datetime] = now_column()


class OperatorPresence(Base):
    """Heartbeat the panel writes while an operator has it open; `left_at` is when the last panel closed
    (cleared by the next heartbeat), so auto-assignment can tell how long someone has been away."""

    __tablename__ = "operator_presence"

    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), primary_key=True)
    last_seen_at: Mapped[datetime] = now_column()
    left_at: Mapped[datetime | None]


class OperatorLinkToken(Base):
    """One-time token that links an operator's Telegram account (stored as a digest)."""

    __tablename__ = "operator_link_token"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_column()


class ContactRate(Base):
    """Messages of a contact in the current one-minute window (flood control across processes)."""

    __tablename__ = "contact_rate"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True)
    window_started_at: Mapped[datetime] = now_column()
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    warned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


__all__ = ["Article", "ArticleFeedback", "ContactRate", "FsmState", "OperatorLinkToken",
           "OperatorPresence", "TicketRating"]
