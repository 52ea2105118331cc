"""channel by adapter: a ticket's channel is any registered adapter's name, not one of three.

A new customer channel is one adapter package (core.channels); the CHECK that listed telegram, email
and web by name would make it an edit of the schema too. The name keeps a shape check. Existing
tickets all fit the new check, so the data stays as it is.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_SHAPE = "channel ~ '^[a-z][a-z0-9_]{0,15}$'"


def upgrade() -> None:
    # 0013 dropped the CHECK that listed telegram, email and web.
    op.create_check_constraint(op.f("ck_ticket_channel_name"), "ticket", NAME_SHAPE)


def downgrade() -> None:
    # Tickets of channels the old schema did not know would not fit: refuse rather than lose them.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM ticket WHERE channel NOT IN ('telegram', 'email', 'web')) THEN "
        "RAISE EXCEPTION 'tickets of other channels exist; close and move them before downgrading'; END IF; END $$"
    )
    op.drop_constraint(op.f("ck_ticket_channel_name"), "ticket", type_="check")
