"""panel at scale (issue 20): indexes so that every inbox view and the search answer from an index.

- `ix_ticket_updated_id` (the "All" view: every status, newest activity first) and one
  (column, updated_at, id) index per filter the inbox offers (assignee, queue, channel, priority), so a
  filtered page is read in order and stops after its rows.
- `ix_ticket_unread_live`: the panel's unread total summed from a small partial index.
- `dashboard_day`: one row of dashboard figures per UTC day (core.services.dashboard), kept by the
  leader's rollup job; `ix_orders_updated_at` lets it find the days of orders that changed;
  `ix_message_operator_created` (partial: operator messages) and `ix_ticket_rating_created_at` let it
  read a day's replies and ratings for the per-operator figures without a scan.
- Full text (`to_tsvector('russian', …)`: the 'russian' configuration stems Cyrillic words with the
  Russian Snowball stemmer and Latin ones with the English stemmer, so one expression serves both
  languages; messages carry no language of their own) over message and note bodies and ticket
  subjects; trigram indexes (pg_trgm, installed by 0002) over the same texts, customer names and
  identity addresses for numbers, e-mail addresses, phone numbers and partial words.

Every index is built CONCURRENTLY in an autocommit block (writes go on), after dropping an INVALID
leftover of a build cut short. Downgrade drops them the same way.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> (table, the index's body after ON <table>)
INDEXES = {
    "ix_ticket_updated_id": ("ticket", "(updated_at, id)"),
    "ix_ticket_assignee_updated": ("ticket", "(assignee_id, updated_at, id)"),
    "ix_ticket_queue_updated": ("ticket", "(queue_id, updated_at, id)"),
    "ix_ticket_channel_updated": ("ticket", "(channel, updated_at, id)"),
    "ix_ticket_priority_updated": ("ticket", "(priority, updated_at, id)"),
    "ix_ticket_unread_live": ("ticket", "(unread_count) WHERE status <> 'closed' AND unread_count > 0"),
    "ix_ticket_subject_fts": ("ticket", "USING gin (to_tsvector('russian'::regconfig, subject::text))"),
    "ix_ticket_subject_trgm": ("ticket", "USING gin (subject gin_trgm_ops)"),
    "ix_message_body_fts": ("message", "USING gin (to_tsvector('russian'::regconfig, body))"),
    "ix_message_body_trgm": ("message", "USING gin (body gin_trgm_ops)"),
    "ix_note_body_fts": ("note", "USING gin (to_tsvector('russian'::regconfig, body))"),
    "ix_note_body_trgm": ("note", "USING gin (body gin_trgm_ops)"),
    "ix_contact_name_trgm": ("contact", "USING gin (name gin_trgm_ops)"),
    "ix_contact_identity_address_trgm": ("contact_identity", "USING gin (external_id gin_trgm_ops)"),
    "ix_orders_updated_at": ("orders", "(updated_at)"),
    # The dashboard's per-operator day rollups: a day's replies and ratings read through an index.
    "ix_message_operator_created": ("message", "(created_at, operator_id) WHERE author_kind = 'operator'"),
    "ix_ticket_rating_created_at": ("ticket_rating", "(created_at)"),
}


def upgrade() -> None:
    op.create_table(
        "dashboard_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_dashboard_day")),
    )
    with op.get_context().autocommit_block():
        for name, (table, body) in INDEXES.items():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"CREATE INDEX CONCURRENTLY {name} ON {table} {body}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in reversed(INDEXES):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    op.drop_table("dashboard_day")
