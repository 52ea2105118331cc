"""identity blocked: "blocked the bot" belongs to the identity the channel reported it for.

Before, `contact.blocked` stopped every delivery to the contact, so after a merge a Telegram block
also stopped e-mail notices. Now each identity has `blocked`/`blocked_at`, and `contact.blocked` means
"every identity of the contact is blocked" (core keeps it so).

Data: only Telegram reports blocking, so a blocked contact's Telegram identities become blocked (with
the contact's `blocked_at`); a contact that still has an identity that is not blocked (a merged
contact's e-mail address) is no longer blocked as a whole. Downgrade: a contact is blocked when any of
its identities is (the old, contact-wide meaning).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contact_identity", sa.Column("blocked", sa.Boolean(), server_default=sa.text("false"),
                                                nullable=False))
    op.add_column("contact_identity", sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE contact_identity i SET blocked = true, blocked_at = coalesce(c.blocked_at, now()) FROM contact c "
        "WHERE c.id = i.contact_id AND c.blocked AND i.channel = 'telegram'"
    )
    op.execute(
        "UPDATE contact c SET blocked = false, blocked_at = NULL WHERE c.blocked AND EXISTS "
        "(SELECT 1 FROM contact_identity i WHERE i.contact_id = c.id AND NOT i.blocked)"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE contact c SET blocked = true, blocked_at = (SELECT max(i.blocked_at) FROM contact_identity i "
        "WHERE i.contact_id = c.id AND i.blocked) WHERE NOT c.blocked AND EXISTS "
        "(SELECT 1 FROM contact_identity i WHERE i.contact_id = c.id AND i.blocked)"
    )
    op.drop_column("contact_identity", "blocked_at")
    op.drop_column("contact_identity", "blocked")
