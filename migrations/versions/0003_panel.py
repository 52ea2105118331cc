"""panel: web sessions, API tokens, account links, login throttling, saved replies, presence

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=320), nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.create_table('account_link',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('operator_id', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('invite', 'reset')", name=op.f('ck_account_link_purpose')),
    sa.ForeignKeyConstraint(['created_by'], ['operator.id'], name=op.f('fk_account_link_created_by_operator'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_account_link_operator_id_operator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_link')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_account_link_token_digest'))
    )
    op.create_index(op.f('ix_account_link_operator_id'), 'account_link', ['operator_id'], unique=False)
    op.create_table('api_token',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('operator_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_api_token_operator_id_operator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_api_token_token_digest'))
    )
    op.create_index(op.f('ix_api_token_operator_id'), 'api_token', ['operator_id'], unique=False)
    op.create_table('presence',
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('operator_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_presence_operator_id_operator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', name=op.f('pk_presence'))
    )
    op.create_index(op.f('ix_presence_operator_id'), 'presence', ['operator_id'], unique=False)
    op.create_index(op.f('ix_presence_ticket_id'), 'presence', ['ticket_id'], unique=False)
    op.create_table('saved_reply',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shortcut', sa.String(length=48), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), server_default='en', nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("language IN ('en', 'ru')", name=op.f('ck_saved_reply_language')),
    sa.ForeignKeyConstraint(['created_by'], ['operator.id'], name=op.f('fk_saved_reply_created_by_operator'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_reply'))
    )
    op.create_index('uq_saved_reply_shortcut_language', 'saved_reply', ['shortcut', 'language'], unique=True)
    op.create_table('web_session',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('operator_id', sa.BigInteger(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=256), server_default='', nullable=False),
    sa.Column('ip', sa.String(length=64), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_web_session_operator_id_operator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_session')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_web_session_token_digest'))
    )
    op.create_index(op.f('ix_web_session_operator_id'), 'web_session', ['operator_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_session_operator_id'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_index('uq_saved_reply_shortcut_language', table_name='saved_reply')
    op.drop_table('saved_reply')
    op.drop_index(op.f('ix_presence_ticket_id'), table_name='presence')
    op.drop_index(op.f('ix_presence_operator_id'), table_name='presence')
    op.drop_table('presence')
    op.drop_index(op.f('ix_api_token_operator_id'), table_name='api_token')
    op.drop_table('api_token')
    op.drop_index(op.f('ix_account_link_operator_id'), table_name='account_link')
    op.drop_table('account_link')
    op.drop_table('login_throttle')
