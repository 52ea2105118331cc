"""kb version: one counter every change to what the search reads bumps (published articles' text,
language or state; synonym groups), so each process keeps the knowledge base's vocabulary and
synonyms in memory and reloads them only when the counter moved (core/kb/lexicon.py). Triggers bump it
in the writer's transaction, also for writes made around the application (raw SQL, imports).

`token` tells databases apart (a process that meets another database, or the row recreated after a
TRUNCATE, reloads). Data: adds one row (version 1). Downgrade drops the triggers, their function and the table.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_version",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_kb_version_single")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_version")),
    )
    op.execute("INSERT INTO kb_version (id) VALUES (1)")
    op.execute(
        "CREATE FUNCTION desk_kb_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN INSERT INTO kb_version (id) VALUES (1) "
        "ON CONFLICT (id) DO UPDATE SET version = kb_version.version + 1; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER kb_bump_article AFTER INSERT OR DELETE OR UPDATE OF title, body, tags, examples, language, "
        "published ON article FOR EACH STATEMENT EXECUTE FUNCTION desk_kb_bump()"
    )
    op.execute("CREATE TRIGGER kb_bump_article_truncate AFTER TRUNCATE ON article "
               "FOR EACH STATEMENT EXECUTE FUNCTION desk_kb_bump()")
    op.execute("CREATE TRIGGER kb_bump_synonym AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON kb_synonym "
               "FOR EACH STATEMENT EXECUTE FUNCTION desk_kb_bump()")


def downgrade() -> None:
    op.execute("DROP TRIGGER kb_bump_synonym ON kb_synonym")
    op.execute("DROP TRIGGER kb_bump_article_truncate ON article")
    op.execute("DROP TRIGGER kb_bump_article ON article")
    op.execute("DROP FUNCTION desk_kb_bump()")
    op.drop_table("kb_version")
