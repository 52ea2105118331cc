"""queue display names and assignment on first reply: `queue.name_ru` (the name Russian-speaking
operators read; `name` stays the English one) and `queue.assign_on_reply` (an operator's first reply
to an unassigned ticket of the queue makes it theirs; on by default). And `ix_ticket_live_updated`:
the inbox's default page (not closed, newest activity first) read from an index instead of sorting
every open ticket.

Data: the seeded queues whose English name is still the seeded one get their Russian name; queues an
admin created or renamed keep theirs (no Russian name: `name` is shown in both languages). Every queue
assigns on reply. Downgrade drops both columns.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED_RU = (
    ("technical", "Technical support", "Техническая поддержка"),
    ("billing", "Billing", "Оплата и счета"),
    ("logistics", "Logistics", "Доставка"),
    ("general", "General", "Общие вопросы"),
    ("email", "Email", "Почта"),
)


def upgrade() -> None:
    op.add_column("queue", sa.Column("name_ru", sa.String(length=128), nullable=True))
    op.add_column("queue", sa.Column("assign_on_reply", sa.Boolean(), server_default=sa.text("true"), nullable=False))
    queue = sa.table("queue", sa.column("slug", sa.String), sa.column("name", sa.String), sa.column("name_ru", sa.String))
    for slug, english, russian in SEEDED_RU:
        op.execute(queue.update().where(queue.c.slug == slug, queue.c.name == english).values(name_ru=russian))
    op.create_index("ix_ticket_live_updated", "ticket", ["updated_at", "id"], unique=False,
                    postgresql_where=sa.text("status <> 'closed'"))


def downgrade() -> None:
    op.drop_index("ix_ticket_live_updated", table_name="ticket", postgresql_where=sa.text("status <> 'closed'"))
    op.drop_column("queue", "assign_on_reply")
    op.drop_column("queue", "name_ru")
