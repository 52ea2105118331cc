"""kb misses: customer questions the knowledge base did not answer (no article, "did not help", a
handoff right after an answer), kept 90 days for admins to turn into example questions; and the
normalized question on each feedback vote, so a vote adjusts the ranking for that question only.

Data: existing votes keep every value; their question key stays empty (they adjust nothing, as
before). Downgrade drops the misses and the key.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_miss",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_key", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("language IN ('en', 'ru')", name=op.f("ck_kb_miss_language")),
        sa.CheckConstraint("outcome IN ('miss', 'not_helped', 'handoff')", name=op.f("ck_kb_miss_outcome")),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], name=op.f("fk_kb_miss_article_id_article"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_miss")),
    )
    op.create_index("ix_kb_miss_created_at", "kb_miss", ["created_at"], unique=False)
    op.create_index("ix_kb_miss_language_key", "kb_miss", ["language", "question_key"], unique=False)
    op.add_column("article_feedback", sa.Column("question_key", sa.Text(), server_default="", nullable=False))
    op.create_index("ix_article_feedback_question_key", "article_feedback", ["question_key", "article_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_article_feedback_question_key", table_name="article_feedback")
    op.drop_column("article_feedback", "question_key")
    op.drop_index("ix_kb_miss_language_key", table_name="kb_miss")
    op.drop_index("ix_kb_miss_created_at", table_name="kb_miss")
    op.drop_table("kb_miss")
