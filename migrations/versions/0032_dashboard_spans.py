"""dashboard spans (issue 20): the dashboard's day rollups pre-summed per calendar month and per week of
the month (days 1-7, 8-14, 15-21, 22 to the month's end), so a long period reads a few summed rows
instead of a row per day (core.services.dashboard.period_figures; kept by core.jobs.rollups).

`version` (the rollups' ROLLUP_VERSION) moves from a figure inside `dashboard_day.figures` into a column,
so a period finds its current rows without reading (and decompressing) every day's figures.

`ix_ticket_open_assignee` (partial: tickets not closed) lets the dashboard's "open now" per operator
(core.services.team) count from the index alone instead of visiting every open ticket's row. Built
CONCURRENTLY in an autocommit block (writes go on), after dropping an INVALID leftover of a build cut short.

Revision ID: 0032
Revises: 0028
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0032"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# name -> (table, the index's body after ON <table>)
INDEXES = {
    "ix_ticket_open_assignee": ("ticket", "(assignee_id) WHERE status <> 'closed'"),
}


def upgrade() -> None:
    op.add_column("dashboard_day", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.execute("UPDATE dashboard_day SET version = (figures #>> '{version,v}')::int, figures = figures - 'version' "
               "WHERE figures ? 'version'")
    op.create_table(
        "dashboard_span",
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("stop", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("start", "stop", name=op.f("pk_dashboard_span")),
    )
    with op.get_context().autocommit_block():
        for name, (table, body) in INDEXES.items():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"CREATE INDEX CONCURRENTLY {name} ON {table} {body}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in reversed(INDEXES):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    op.drop_table("dashboard_span")
    op.execute("UPDATE dashboard_day SET figures = figures || jsonb_build_object('version', "
               "jsonb_build_object('v', version)) WHERE version > 1")
    op.drop_column("dashboard_day", "version")
