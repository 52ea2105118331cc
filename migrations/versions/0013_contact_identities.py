"""contact identities: a contact is reached through identities (channel, external id), the ticket
remembers which one its conversation is with, and one live ticket per contact and channel holds for
every channel of `live_conversations` (`ticket.single_live`), not for Telegram only. Channel names
come from the channel registry: the CHECKs on ticket.channel and orders.source go.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel names of the data this revision moves: the ones the data model knew at 0012.
TELEGRAM, EMAIL = "telegram", "email"
LIVE_CHANNELS = (TELEGRAM, "web")  # the channels whose specs declare live_conversations at 0013


def upgrade() -> None:
    op.create_table(
        "contact_identity",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=320), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=256), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=op.f("fk_contact_identity_contact_id_contact"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_identity")),
        sa.UniqueConstraint("channel", "external_id", name="uq_contact_identity_channel_external_id"),
    )
    op.create_index(op.f("ix_contact_identity_contact_id"), "contact_identity", ["contact_id"], unique=False)
    op.execute(sa.text(
        "INSERT INTO contact_identity (contact_id, channel, external_id, username, display_name, created_at) "
        "SELECT id, :telegram, telegram_user_id::text, telegram_username, name, created_at FROM contact "
        "WHERE telegram_user_id IS NOT NULL ORDER BY id"
    ).bindparams(telegram=TELEGRAM))
    op.execute(sa.text(
        "INSERT INTO contact_identity (contact_id, channel, external_id, display_name, created_at) "
        "SELECT id, :email, lower(email), name, created_at FROM contact WHERE email IS NOT NULL ORDER BY id "
        "ON CONFLICT (channel, external_id) DO NOTHING"  # two rows of one address in different case: first wins
    ).bindparams(email=EMAIL))
    op.drop_constraint(op.f("uq_contact_email"), "contact", type_="unique")
    op.drop_constraint(op.f("uq_contact_telegram_user_id"), "contact", type_="unique")
    op.drop_column("contact", "email")
    op.drop_column("contact", "telegram_username")
    op.drop_column("contact", "telegram_user_id")

    op.add_column("ticket", sa.Column("identity_id", sa.BigInteger(), nullable=True))
    op.add_column("ticket", sa.Column("single_live", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.create_foreign_key(op.f("fk_ticket_identity_id_contact_identity"), "ticket", "contact_identity",
                          ["identity_id"], ["id"], ondelete="SET NULL")
    op.create_index(op.f("ix_ticket_identity_id"), "ticket", ["identity_id"], unique=False)
    # Every ticket talks to its contact's (first) identity on the ticket's channel.
    op.execute(
        "UPDATE ticket t SET identity_id = i.id FROM (SELECT DISTINCT ON (contact_id, channel) id, contact_id, channel "
        "FROM contact_identity ORDER BY contact_id, channel, id) i "
        "WHERE i.contact_id = t.contact_id AND i.channel = t.channel"
    )
    op.execute(sa.text("UPDATE ticket SET single_live = true WHERE channel IN :live")
               .bindparams(sa.bindparam("live", LIVE_CHANNELS, expanding=True)))
    op.drop_index("uq_ticket_live_telegram_contact", table_name="ticket",
                  postgresql_where=sa.text("status <> 'closed' AND channel = 'telegram'"))
    op.create_index("uq_ticket_live_contact_channel", "ticket", ["contact_id", "channel"], unique=True,
                    postgresql_where=sa.text("status <> 'closed' AND single_live"))
    op.drop_constraint(op.f("ck_ticket_channel"), "ticket", type_="check")

    op.drop_constraint(op.f("ck_orders_source"), "orders", type_="check")
    op.alter_column("orders", "source", server_default=None)


def downgrade() -> None:
    op.alter_column("orders", "source", server_default="telegram")
    op.create_check_constraint(op.f("ck_orders_source"), "orders", "source IN ('telegram', 'web')")

    op.create_check_constraint(op.f("ck_ticket_channel"), "ticket", "channel IN ('telegram', 'email', 'web')")
    op.drop_index("uq_ticket_live_contact_channel", table_name="ticket",
                  postgresql_where=sa.text("status <> 'closed' AND single_live"))
    op.create_index("uq_ticket_live_telegram_contact", "ticket", ["contact_id"], unique=True,
                    postgresql_where=sa.text("status <> 'closed' AND channel = 'telegram'"))
    op.drop_index(op.f("ix_ticket_identity_id"), table_name="ticket")
    op.drop_constraint(op.f("fk_ticket_identity_id_contact_identity"), "ticket", type_="foreignkey")
    op.drop_column("ticket", "single_live")
    op.drop_column("ticket", "identity_id")

    op.add_column("contact", sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
    op.add_column("contact", sa.Column("telegram_username", sa.String(length=64), nullable=True))
    op.add_column("contact", sa.Column("email", sa.String(length=320), nullable=True))
    # The first identity of each channel goes back to its column (a merged contact's others are lost).
    op.execute(sa.text(
        "UPDATE contact c SET telegram_user_id = i.external_id::bigint, telegram_username = i.username "
        "FROM (SELECT DISTINCT ON (contact_id) contact_id, external_id, username FROM contact_identity "
        "WHERE channel = :telegram ORDER BY contact_id, id) i WHERE i.contact_id = c.id"
    ).bindparams(telegram=TELEGRAM))
    op.execute(sa.text(
        "UPDATE contact c SET email = i.external_id FROM (SELECT DISTINCT ON (contact_id) contact_id, external_id "
        "FROM contact_identity WHERE channel = :email ORDER BY contact_id, id) i WHERE i.contact_id = c.id"
    ).bindparams(email=EMAIL))
    op.create_unique_constraint(op.f("uq_contact_telegram_user_id"), "contact", ["telegram_user_id"])
    op.create_unique_constraint(op.f("uq_contact_email"), "contact", ["email"])
    op.drop_index(op.f("ix_contact_identity_contact_id"), table_name="contact_identity")
    op.drop_table("contact_identity")
