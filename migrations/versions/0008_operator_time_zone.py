"""operator time zone: unset means "the browser's"; a chosen zone wins over the browser's.

Until now every account had "UTC", which nothing could tell apart from a deliberate choice and the
panel ignored; it becomes unset, so each operator keeps seeing their browser's time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("operator", "time_zone", existing_type=sa.String(length=64), nullable=True, server_default=None)
    op.execute("UPDATE operator SET time_zone = NULL WHERE time_zone = 'UTC'")


def downgrade() -> None:
    op.execute("UPDATE operator SET time_zone = 'UTC' WHERE time_zone IS NULL")
    op.alter_column("operator", "time_zone", existing_type=sa.String(length=64), nullable=False, server_default="UTC")
