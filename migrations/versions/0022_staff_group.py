"""staff group: a Telegram forum supergroup linked for staff (a default one, or a queue's own), and
the one topic of each ticket there.

Data: new tables only; the downgrade drops them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_group",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("queue_id", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.String(length=255), server_default="", nullable=False),
        sa.Column("state", sa.String(length=16), server_default="ok", nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("linked_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("state IN ('ok', 'not_forum', 'no_rights', 'removed')", name=op.f("ck_staff_group_state")),
        sa.ForeignKeyConstraint(["queue_id"], ["queue.id"], name=op.f("fk_staff_group_queue_id_queue"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["linked_by"], ["operator.id"], name=op.f("fk_staff_group_linked_by_operator"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_group")),
        sa.UniqueConstraint("queue_id", name="uq_staff_group_queue_id", postgresql_nulls_not_distinct=True),
    )
    op.create_table(
        "ticket_topic",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("card_message_id", sa.Integer(), nullable=True),
        sa.Column("shown_up_to", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("recreated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'open', 'closed')", name=op.f("ck_ticket_topic_state")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_topic_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_topic")),
        sa.UniqueConstraint("chat_id", "thread_id", name="uq_ticket_topic_chat_thread"),
    )


def downgrade() -> None:
    op.drop_table("ticket_topic")
    op.drop_table("staff_group")
