"""product photo uploaded in the panel: the desk keeps the file, Telegram's file id is cached in `photo`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("product", sa.Column("photo_key", sa.String(length=80), nullable=True))


def downgrade() -> None:
    op.drop_column("product", "photo_key")
