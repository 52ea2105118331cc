"""auto-assignment: `queue.auto_assign` (give new and orphaned tickets of the queue to its online members
round robin; off by default, so a queue stays manual until an admin turns it on),
`queue_member.last_assigned_at` (the round robin's position: among members holding equally few open
tickets, the one who waited longest gets the next) and `operator_presence.left_at` (when the operator's
last panel closed: the row now stays, so "offline for longer than N minutes" can be told; a heartbeat
clears it).

All three tables are small (configuration and one row per operator); the new columns are nullable or
have a constant default, so no rewrite. Downgrade drops them (and the presence rows of operators who
left, which the old code deleted at once).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("queue", sa.Column("auto_assign", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("queue_member", sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("operator_presence", sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM operator_presence WHERE left_at IS NOT NULL")
    op.drop_column("operator_presence", "left_at")
    op.drop_column("queue_member", "last_assigned_at")
    op.drop_column("queue", "auto_assign")
