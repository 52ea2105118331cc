"""mail fingerprint: a different mail that reuses a Message-ID is taken in, not dropped as a duplicate.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows already there keep NULL: their mail's content is unknown, so their Message-ID stays taken.
    op.add_column("mail_message", sa.Column("fingerprint", sa.String(length=64), nullable=True))
    op.drop_constraint("uq_mail_message_mailbox_rfc_id", "mail_message", type_="unique")
    op.create_unique_constraint("uq_mail_message_mailbox_rfc_id_fingerprint", "mail_message",
                                ["mailbox", "rfc_message_id", "fingerprint"])


def downgrade() -> None:
    # One row per Message-ID again: the oldest stays (later mails under a reused id lose their index
    # row, not their ticket or message).
    op.execute("DELETE FROM mail_message m USING mail_message older WHERE older.mailbox = m.mailbox "
               "AND older.rfc_message_id = m.rfc_message_id AND older.id < m.id")
    op.drop_constraint("uq_mail_message_mailbox_rfc_id_fingerprint", "mail_message", type_="unique")
    op.create_unique_constraint("uq_mail_message_mailbox_rfc_id", "mail_message", ["mailbox", "rfc_message_id"])
    op.drop_column("mail_message", "fingerprint")
