"""email: mailbox state (UIDVALIDITY, last UID), Message-ID index per mailbox, quarantine

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mail_quarantine',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('mailbox', sa.String(length=255), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=True),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('rfc_message_id', sa.String(length=1000), nullable=True),
    sa.Column('sender', sa.String(length=320), server_default='', nullable=False),
    sa.Column('subject', sa.String(length=512), server_default='', nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('size', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('raw_storage_key', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_quarantine'))
    )
    op.create_index('ix_mail_quarantine_mailbox_id', 'mail_quarantine', ['mailbox', 'id'], unique=False)
    op.create_table('mailbox_state',
    sa.Column('mailbox', sa.String(length=255), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('mailbox', name=op.f('pk_mailbox_state'))
    )
    op.create_table('mail_message',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('mailbox', sa.String(length=255), nullable=False),
    sa.Column('rfc_message_id', sa.String(length=1000), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=True),
    sa.Column('sender', sa.String(length=320), server_default='', nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=True),
    sa.Column('desk_message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['desk_message_id'], ['message.id'], name=op.f('fk_mail_message_desk_message_id_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_mail_message_ticket_id_ticket'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_message')),
    sa.UniqueConstraint('mailbox', 'rfc_message_id', name='uq_mail_message_mailbox_rfc_id')
    )
    op.create_index(op.f('ix_mail_message_ticket_id'), 'mail_message', ['ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_mail_message_ticket_id'), table_name='mail_message')
    op.drop_table('mail_message')
    op.drop_table('mailbox_state')
    op.drop_index('ix_mail_quarantine_mailbox_id', table_name='mail_quarantine')
    op.drop_table('mail_quarantine')
