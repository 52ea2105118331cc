"""widget visit and secret: what a website visitor's widget last said about the visit (page URL and
title, referrer, browser, language, time zone and local time), shown on the operator's customer card;
each store widget's secret, with which the shop's backend signs its logged-in users' ids; and what the
widget shows of the site (greeting, colour, working-hours text).

Data: existing identities (Telegram users, addresses, visitors from before) have no visit to tell;
they keep every value and get NULL. Existing widgets each get a fresh secret (admins see and renew it).
Existing widgets show no greeting or hours and the widget's blue. Downgrade drops the columns (the visit is only a hint; a secret is made again on the next upgrade).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contact_identity", sa.Column("visit", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("store_widget", sa.Column("secret", sa.String(length=64), nullable=True))
    # A secret per existing widget from PostgreSQL's own generator (56 hex digits from two md5s, as new_secret makes).
    op.execute("UPDATE store_widget SET secret = 'ws_' || left(md5(random()::text || clock_timestamp()::text || store_id::text)"
               " || md5(random()::text || key), 56)")
    op.alter_column("store_widget", "secret", nullable=False)
    op.add_column("store_widget", sa.Column("greeting", sa.String(length=500), server_default="", nullable=False))
    op.add_column("store_widget", sa.Column("color", sa.String(length=7), server_default="#2563eb", nullable=False))
    op.add_column("store_widget", sa.Column("hours", sa.String(length=200), server_default="", nullable=False))


def downgrade() -> None:
    for column in ("hours", "color", "greeting", "secret"):
        op.drop_column("store_widget", column)
    op.drop_column("contact_identity", "visit")
