"""sites: the websites that embed the chat widget become their own rows (several per store, or the desk's
own with no store), each with its name, key, origins, secret, look, queue and pre-chat form; tickets
remember the site they were started from; a visitor's identity keeps the e-mail they typed in the
pre-chat form (unverified: never an e-mail identity).

Data: every store_widget row becomes a site named after its store with the same key, origins, secret,
greeting, colour and hours (pages embedding `data-key` keep working, and signed-in shop users keep
their `store:<id>:user:<uid>` identities: they stay store-scoped). Then store_widget is dropped.

Downgrade loses: every site without a store, every site of a store but its oldest (whose key, origins,
secret and look become the store's widget again), the sites' names, queues and pre-chat modes, the
tickets' site and the e-mails typed in pre-chat forms. A store with no site gets no widget back (the
panel and `desk site create` make one on first ask).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("origins", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("greeting", sa.String(length=500), server_default="", nullable=False),
        sa.Column("color", sa.String(length=7), server_default="#2563eb", nullable=False),
        sa.Column("hours", sa.String(length=200), server_default="", nullable=False),
        sa.Column("queue_id", sa.BigInteger(), nullable=True),
        sa.Column("store_id", sa.BigInteger(), nullable=True),
        sa.Column("prechat", sa.String(length=16), server_default="off", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("prechat IN ('off', 'optional', 'required')", name=op.f("ck_site_prechat")),
        sa.ForeignKeyConstraint(["queue_id"], ["queue.id"], name=op.f("fk_site_queue_id_queue"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"], name=op.f("fk_site_store_id_store"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("key", name=op.f("uq_site_key")),
    )
    op.create_index(op.f("ix_site_store_id"), "site", ["store_id"], unique=False)
    op.execute(
        "INSERT INTO site (name, key, origins, secret, greeting, color, hours, store_id, created_at) "
        "SELECT left(store.name, 100), w.key, w.origins, w.secret, w.greeting, w.color, w.hours, w.store_id, "
        "w.created_at FROM store_widget w JOIN store ON store.id = w.store_id ORDER BY w.store_id"
    )
    op.drop_table("store_widget")
    op.add_column("ticket", sa.Column("site_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_ticket_site_id_site"), "ticket", "site", ["site_id"], ["id"], ondelete="SET NULL")
    op.create_index(op.f("ix_ticket_site_id"), "ticket", ["site_id"], unique=False)
    op.add_column("contact_identity", sa.Column("given_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.drop_column("contact_identity", "given_email")
    op.drop_index(op.f("ix_ticket_site_id"), table_name="ticket")
    op.drop_constraint(op.f("fk_ticket_site_id_site"), "ticket", type_="foreignkey")
    op.drop_column("ticket", "site_id")
    op.create_table(
        "store_widget",
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("origins", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("greeting", sa.String(length=500), server_default="", nullable=False),
        sa.Column("color", sa.String(length=7), server_default="#2563eb", nullable=False),
        sa.Column("hours", sa.String(length=200), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"], name=op.f("fk_store_widget_store_id_store"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_store_widget")),
        sa.UniqueConstraint("key", name=op.f("uq_store_widget_key")),
    )
    op.execute(
        "INSERT INTO store_widget (store_id, key, origins, created_at, secret, greeting, color, hours) "
        "SELECT DISTINCT ON (store_id) store_id, key, origins, created_at, secret, greeting, color, hours "
        "FROM site WHERE store_id IS NOT NULL ORDER BY store_id, created_at, id"
    )
    op.drop_index(op.f("ix_site_store_id"), table_name="site")
    op.drop_table("site")
