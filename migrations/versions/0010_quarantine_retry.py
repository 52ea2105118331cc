"""quarantine retry: an admin tries a quarantined mail again; resolved rows stay with who and when.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("mail_quarantine", sa.Column("retries", sa.Integer(), server_default="0", nullable=False))
    op.add_column("mail_quarantine", sa.Column("retried_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("mail_quarantine", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("mail_quarantine", sa.Column("resolved_by_id", sa.BigInteger(), nullable=True))
    op.add_column("mail_quarantine", sa.Column("ticket_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_mail_quarantine_resolved_by_id_operator"), "mail_quarantine", "operator",
                          ["resolved_by_id"], ["id"], ondelete="SET NULL")
    op.create_foreign_key(op.f("fk_mail_quarantine_ticket_id_ticket"), "mail_quarantine", "ticket",
                          ["ticket_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    op.drop_constraint(op.f("fk_mail_quarantine_ticket_id_ticket"), "mail_quarantine", type_="foreignkey")
    op.drop_constraint(op.f("fk_mail_quarantine_resolved_by_id_operator"), "mail_quarantine", type_="foreignkey")
    for column in ("ticket_id", "resolved_by_id", "resolved_at", "retried_at", "retries"):
        op.drop_column("mail_quarantine", column)
