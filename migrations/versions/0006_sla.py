"""sla: policies, business hours and holidays per queue, queue members, alert and notice ledgers,
SLA clock bookkeeping on ticket and the indexes the watch and housekeeping jobs read through.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_holiday",
        sa.Column("queue_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=128), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["queue.id"], name=op.f("fk_business_holiday_queue_id_queue"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("queue_id", "day", name=op.f("pk_business_holiday")),
    )
    op.create_table(
        "business_hours",
        sa.Column("queue_id", sa.BigInteger(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("weekly", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["queue.id"], name=op.f("fk_business_hours_queue_id_queue"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("pk_business_hours")),
    )
    op.create_table(
        "queue_member",
        sa.Column("queue_id", sa.BigInteger(), nullable=False),
        sa.Column("operator_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"], name=op.f("fk_queue_member_operator_id_operator"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["queue_id"], ["queue.id"], name=op.f("fk_queue_member_queue_id_queue"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("queue_id", "operator_id", name=op.f("pk_queue_member")),
    )
    op.create_index(op.f("ix_queue_member_operator_id"), "queue_member", ["operator_id"], unique=False)
    op.create_table(
        "sla_policy",
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high', 'urgent')", name=op.f("ck_sla_policy_priority")),
        sa.CheckConstraint("first_response_minutes > 0 AND resolution_minutes > 0",
                           name=op.f("ck_sla_policy_positive")),
        sa.ForeignKeyConstraint(["updated_by"], ["operator.id"], name=op.f("fk_sla_policy_updated_by_operator"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("priority", name=op.f("pk_sla_policy")),
    )
    op.create_table(
        "sla_alert",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("stage IN ('warning', 'breach')", name=op.f("ck_sla_alert_stage")),
        sa.CheckConstraint("target IN ('first_response', 'resolution')", name=op.f("ck_sla_alert_target")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_sla_alert_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_alert")),
        sa.UniqueConstraint("ticket_id", "target", "stage", "revision", name="uq_sla_alert_once"),
    )
    op.create_table(
        "ticket_notice",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_notice_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notice")),
        sa.UniqueConstraint("ticket_id", "kind", "ref", name="uq_ticket_notice_once"),
    )
    op.add_column("ticket", sa.Column("sla_started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ticket", sa.Column("sla_paused_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ticket", sa.Column("sla_paused_seconds", sa.Integer(), server_default="0", nullable=False))
    op.add_column("ticket", sa.Column("sla_revision", sa.Integer(), server_default="0", nullable=False))
    op.add_column("ticket", sa.Column("sla_next_check_at", sa.DateTime(timezone=True), nullable=True))
    # Tickets from before the SLA clocks: their clocks started when they were created.
    op.execute("UPDATE ticket SET sla_started_at = created_at")
    # Their waiting periods and closes started at their last update, as far as we can tell.
    op.execute("UPDATE ticket SET sla_paused_at = COALESCE(closed_at, updated_at) "
               "WHERE status IN ('waiting_customer', 'closed')")
    op.execute("UPDATE ticket SET resolved_at = COALESCE(closed_at, updated_at) "
               "WHERE status = 'closed' AND resolved_at IS NULL")
    # Open tickets get their deadlines under the default policies of this revision (no business
    # hours exist yet), counted from when they were opened: an old one is overdue at once, as it is.
    # The watch looks at each on its next pass. `desk sla recompute` applies later policy changes.
    minutes = "CASE priority WHEN 'urgent' THEN {} WHEN 'high' THEN {} WHEN 'medium' THEN {} ELSE {} END"
    op.execute(f"UPDATE ticket SET frt_due_at = sla_started_at + ({minutes.format(15, 60, 240, 480)}) "
               "* interval '1 minute', sla_next_check_at = now() "
               "WHERE status <> 'closed' AND first_response_at IS NULL AND frt_due_at IS NULL")
    op.execute(f"UPDATE ticket SET ttr_due_at = sla_started_at + ({minutes.format(240, 480, 1440, 4320)}) "
               "* interval '1 minute', sla_next_check_at = now() "
               "WHERE status NOT IN ('closed', 'waiting_customer') AND resolved_at IS NULL AND ttr_due_at IS NULL")
    op.create_index("ix_ticket_resolved_at", "ticket", ["resolved_at"], unique=False,
                    postgresql_where=sa.text("status = 'closed'"))
    op.create_index("ix_ticket_frt_pending", "ticket", ["frt_due_at"], unique=False,
                    postgresql_where=sa.text("first_response_at IS NULL AND status NOT IN ('closed', 'waiting_customer')"))
    op.create_index("ix_ticket_ttr_running", "ticket", ["ttr_due_at"], unique=False,
                    postgresql_where=sa.text("status <> 'closed' AND sla_paused_at IS NULL"))
    op.create_index("ix_ticket_created_at", "ticket", ["created_at"], unique=False)
    op.create_index("ix_ticket_sla_next_check", "ticket", ["sla_next_check_at"], unique=False,
                    postgresql_where=sa.text("sla_next_check_at IS NOT NULL"))
    op.create_index("ix_ticket_waiting_since", "ticket", ["sla_paused_at"], unique=False,
                    postgresql_where=sa.text("status = 'waiting_customer'"))


def downgrade() -> None:
    op.drop_index("ix_ticket_waiting_since", table_name="ticket")
    op.drop_index("ix_ticket_sla_next_check", table_name="ticket")
    op.drop_index("ix_ticket_created_at", table_name="ticket")
    op.drop_index("ix_ticket_ttr_running", table_name="ticket")
    op.drop_index("ix_ticket_frt_pending", table_name="ticket")
    op.drop_index("ix_ticket_resolved_at", table_name="ticket")
    op.drop_column("ticket", "sla_next_check_at")
    op.drop_column("ticket", "sla_revision")
    op.drop_column("ticket", "sla_paused_seconds")
    op.drop_column("ticket", "sla_paused_at")
    op.drop_column("ticket", "sla_started_at")
    op.drop_table("ticket_notice")
    op.drop_table("sla_alert")
    op.drop_table("sla_policy")
    op.drop_index(op.f("ix_queue_member_operator_id"), table_name="queue_member")
    op.drop_table("queue_member")
    op.drop_table("business_hours")
    op.drop_table("business_holiday")
