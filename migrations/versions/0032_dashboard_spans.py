"""dashboard spans (issue 20): the dashboard's day rollups pre-summed per calendar month and per week of
the month (days 1-7, 8-14, 15-21, 22 to the month's end), so a long period reads a few summed rows
instead of a row per day (core.services.dashboard.period_figures; kept by core.jobs.rollups).

Revision ID: 0032
Revises: 0028
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0032"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_span",
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("stop", sa.Date(), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("start", "stop", name=op.f("pk_dashboard_span")),
    )


def downgrade() -> None:
    op.drop_table("dashboard_span")
