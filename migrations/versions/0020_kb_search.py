"""kb search: example questions per article (weight A in the search vector with the title and, now,
the tags), admins' synonym groups, and the knowledge base's word list the search corrects typos against.

Data: existing articles keep every value and get no example questions; their search vector is computed
again (title, tags and examples A, body B). The word list is filled from the existing articles.
Downgrade drops the examples (and the search vector goes back to title A, body B), the synonyms and
the word list.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONFIG = "CASE WHEN language = 'ru' THEN 'russian'::regconfig ELSE 'english'::regconfig END"
_OLD = (f"setweight(to_tsvector({_CONFIG}, coalesce(title, '')), 'A') || "
        f"setweight(to_tsvector({_CONFIG}, coalesce(body, '')), 'B')")
_NEW = (f"setweight(to_tsvector({_CONFIG}, coalesce(title, '')), 'A') || "
        f"setweight(jsonb_to_tsvector({_CONFIG}, tags, '[\"string\"]'), 'A') || "
        f"setweight(jsonb_to_tsvector({_CONFIG}, examples, '[\"string\"]'), 'A') || "
        f"setweight(to_tsvector({_CONFIG}, coalesce(body, '')), 'B')")


def _search_vector(expression: str) -> None:
    op.drop_index("ix_article_search_vector", table_name="article", postgresql_using="gin")
    op.drop_column("article", "search_vector")
    op.add_column("article", sa.Column("search_vector", postgresql.TSVECTOR(), sa.Computed(expression, persisted=True),
                                       nullable=False))
    op.create_index("ix_article_search_vector", "article", ["search_vector"], unique=False, postgresql_using="gin")


def upgrade() -> None:
    op.add_column("article", sa.Column("examples", postgresql.JSONB(astext_type=sa.Text()),
                                       server_default=sa.text("'[]'::jsonb"), nullable=False))
    _search_vector(_NEW)
    op.create_table(
        "kb_synonym",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("terms", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("language IN ('en', 'ru')", name=op.f("ck_kb_synonym_language")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_synonym")),
    )
    op.create_table(
        "kb_word",
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("word", sa.Text(), nullable=False),
        sa.Column("ndoc", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("language", "word", name=op.f("pk_kb_word")),
    )
    op.create_index("ix_kb_word_trgm", "kb_word", ["word"], unique=False, postgresql_using="gin",
                    postgresql_ops={"word": "gin_trgm_ops"})
    for language in ("en", "ru"):
        op.execute(f"INSERT INTO kb_word (language, word, ndoc) SELECT '{language}', word, ndoc FROM ts_stat("
                   f"'SELECT search_vector FROM article WHERE published AND language = ''{language}''')")


def downgrade() -> None:
    op.drop_index("ix_kb_word_trgm", table_name="kb_word", postgresql_using="gin")
    op.drop_table("kb_word")
    op.drop_table("kb_synonym")
    _search_vector(_OLD)
    op.drop_column("article", "examples")
