"""store widget: the website chat widget of each store (public key, allowed origins) and the receipts
of visitors' frames (idempotency of resends).

Data: every existing store gets its widget with a fresh key and no allowed origin, so nothing can
embed it until an admin lists the shop's site; a store created later gets one when an admin asks
(`PUT /api/stores/{id}/widget`). Downgrade drops both tables (keys and receipts are lost; tickets of
the web channel stay).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_widget",
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("origins", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"], name=op.f("fk_store_widget_store_id_store"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_store_widget")),
        sa.UniqueConstraint("key", name=op.f("uq_store_widget_key")),
    )
    op.create_table(
        "widget_receipt",
        sa.Column("visitor", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("visitor", "client_id", name=op.f("pk_widget_receipt")),
    )
    # A key per existing store from PostgreSQL's own generator (no extension needed); admins may renew it.
    op.execute(
        "INSERT INTO store_widget (store_id, key) "
        "SELECT id, 'wk_' || md5(random()::text || clock_timestamp()::text || id::text) FROM store"
    )


def downgrade() -> None:
    op.drop_table("widget_receipt")
    op.drop_table("store_widget")
