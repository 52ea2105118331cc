"""files in PostgreSQL: `blob` (one row per sha256) and `blob_chunk` (its bytes in ~256 KiB rows), so
every process of a desk reads the same files (FILE_STORE=database, the default).

Data: nothing moves here; `desk storage migrate` copies a folder store's files in (storage keys stay
`<2 hex>/<sha256>` in both stores, so no row changes). Downgrade drops the tables and their files.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blob")),
    )
    op.create_index("ix_blob_touched_at", "blob", ["touched_at"], unique=False)
    op.create_table(
        "blob_chunk",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["blob.sha256"], name=op.f("fk_blob_chunk_sha256_blob"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sha256", "n", name=op.f("pk_blob_chunk")),
    )
    # Photos and documents are compressed already: skip TOAST's compression attempt.
    op.execute("ALTER TABLE blob_chunk ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("blob_chunk")
    op.drop_index("ix_blob_touched_at", table_name="blob")
    op.drop_table("blob")
