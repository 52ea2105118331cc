"""topic last post: a ticket's topic remembers its last post of the ticket's lines (Telegram's message id,
the first message id it shows, when it was first sent), so a burst is one post edited in place while it
stays under Telegram's limit and within a few minutes. Data: none (existing topics start a new post).
Downgrade drops the columns.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ticket_topic", sa.Column("last_post_id", sa.Integer(), nullable=True))
    op.add_column("ticket_topic", sa.Column("last_post_from", sa.BigInteger(), nullable=True))
    op.add_column("ticket_topic", sa.Column("last_post_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("ticket_topic", "last_post_at")
    op.drop_column("ticket_topic", "last_post_from")
    op.drop_column("ticket_topic", "last_post_id")
