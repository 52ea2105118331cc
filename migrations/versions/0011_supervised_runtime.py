"""supervised runtime: outbox rows remember the worker that claimed them; dead letters for inputs
that could not be handled.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable, no default: instant on a large table
    op.add_column("outbox", sa.Column("claimed_by", sa.BigInteger(), nullable=True))
    op.add_column("outbox", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="failed", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("state IN ('failed', 'retry', 'resolved', 'discarded')", name=op.f("ck_dead_letter_state")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["operator.id"], name=op.f("fk_dead_letter_resolved_by_id_operator"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
    )
    op.create_index("uq_dead_letter_source_external", "dead_letter", ["source", "external_id"], unique=True,
                    postgresql_where=sa.text("external_id IS NOT NULL"))
    op.create_index("ix_dead_letter_open", "dead_letter", ["created_at"], unique=False,
                    postgresql_where=sa.text("state IN ('failed', 'retry')"))


def downgrade() -> None:
    op.drop_index("ix_dead_letter_open", table_name="dead_letter")
    op.drop_index("uq_dead_letter_source_external", table_name="dead_letter")
    op.drop_table("dead_letter")
    op.drop_column("outbox", "claimed_at")
    op.drop_column("outbox", "claimed_by")
