"""channel refs: what each channel calls a message or a file, in one map per row instead of Telegram columns.

message.external_id and meta["telegram_message_ids"] become message.channel_refs, a list of ids per
channel ({"telegram": ["812", "813"]}, {"email": ["<id@host>"]}); attachment.telegram_file_id becomes
attachment.channel_refs ({"telegram": "<file_id>"}). The channel of a message's ids is its ticket's.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY = sa.text("'{}'::jsonb")


def upgrade() -> None:
    op.add_column("attachment", sa.Column("channel_refs", postgresql.JSONB(astext_type=sa.Text()),
                                          server_default=EMPTY, nullable=False))
    op.execute("UPDATE attachment SET channel_refs = jsonb_build_object('telegram', telegram_file_id) "
               "WHERE telegram_file_id IS NOT NULL")
    op.drop_column("attachment", "telegram_file_id")

    op.add_column("message", sa.Column("channel_refs", postgresql.JSONB(astext_type=sa.Text()),
                                       server_default=EMPTY, nullable=False))
    # An album's ids (meta) in their order, else the one external_id; as strings, under the ticket's channel.
    op.execute("""
        UPDATE message m SET channel_refs = jsonb_build_object(t.channel, CASE
            WHEN jsonb_typeof(m.meta -> 'telegram_message_ids') = 'array'
                 AND jsonb_array_length(m.meta -> 'telegram_message_ids') > 0
            THEN (SELECT jsonb_agg(item #>> '{}' ORDER BY n)
                  FROM jsonb_array_elements(m.meta -> 'telegram_message_ids') WITH ORDINALITY AS e(item, n))
            ELSE jsonb_build_array(m.external_id)
        END)
        FROM ticket t
        WHERE t.id = m.ticket_id
          AND (m.external_id IS NOT NULL OR (jsonb_typeof(m.meta -> 'telegram_message_ids') = 'array'
                                             AND jsonb_array_length(m.meta -> 'telegram_message_ids') > 0))
    """)
    op.execute("UPDATE message SET meta = meta - 'telegram_message_ids' WHERE meta ? 'telegram_message_ids'")
    op.drop_column("message", "external_id")


def downgrade() -> None:
    op.add_column("message", sa.Column("external_id", sa.String(length=512), nullable=True))
    op.execute("""
        UPDATE message m SET external_id = left(jsonb_path_query_first(m.channel_refs, '$.*[0]') #>> '{}', 512)
        WHERE m.channel_refs <> '{}'::jsonb
    """)
    # Albums kept their Telegram ids in meta (as numbers); a Telegram message of several ids was one.
    op.execute("""
        UPDATE message m SET meta = m.meta || jsonb_build_object('telegram_message_ids',
            (SELECT jsonb_agg((item #>> '{}')::bigint ORDER BY n)
             FROM jsonb_array_elements(m.channel_refs -> 'telegram') WITH ORDINALITY AS e(item, n)))
        WHERE m.meta ? 'media_group_id' AND jsonb_typeof(m.channel_refs -> 'telegram') = 'array'
          AND jsonb_array_length(m.channel_refs -> 'telegram') > 0
    """)
    op.drop_column("message", "channel_refs")

    op.add_column("attachment", sa.Column("telegram_file_id", sa.String(length=255), nullable=True))
    op.execute("UPDATE attachment SET telegram_file_id = left(channel_refs ->> 'telegram', 255) "
               "WHERE channel_refs ? 'telegram'")
    op.drop_column("attachment", "channel_refs")
