"""event ids from the writing transaction's xid: no lock inside COMMIT (issue 18).

Until now `desk_write_events` drew event ids from a sequence under a transaction-level advisory lock
held through COMMIT until the commit was durable, so every publishing commit waited for the one
before it. Now an event's id is `(pg_current_xact_id() << 20) + ordinal within the transaction`: the
trigger takes no lock and uses no sequence. Readers deliver only ids below
`pg_snapshot_xmin(pg_current_snapshot()) << 20` (core.events, core.event_reader): every transaction
with a smaller xid has ended, so no event can appear below an id once it was delivered.

- The hand-over stays `INSERT INTO event_batch (rows)`; the deferred trigger still writes the rows
  inside COMMIT, but sends no NOTIFY: PostgreSQL serialises the commits of notifying transactions
  (a database-wide lock held through the durable commit), so the publishing process NOTIFYs after
  its commit instead (core.event_announcer). A second batch in the same transaction continues the
  ordinals after the first (the transaction sees its own rows).
- `event.id` loses its sequence default: a row inserted into `event` directly would get an id below
  the readers' position and never be delivered, so such an insert now fails instead.
- The migration checks that every existing id is below the ids the new scheme can produce (this
  transaction's xid << 20; later transactions get larger xids). A sequence id cannot reach that
  unless there were more events than 2^20 times the transactions ever run, but if so, it stops here
  rather than let new events sort below old ones.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDINAL_BITS = 20  # events per transaction: up to 2^20; xids of epoch 0 keep ids below 2^52 (exact in JS)

WRITE_EVENTS = f"""
CREATE OR REPLACE FUNCTION desk_write_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    base bigint := pg_current_xact_id()::text::bigint << {ORDINAL_BITS};
    first_id bigint;
    last_id bigint;
BEGIN
    SELECT coalesce(max(id) + 1, base) INTO first_id
    FROM event WHERE id >= base AND id < base + (1::bigint << {ORDINAL_BITS});
    IF first_id - base + jsonb_array_length(NEW.rows) > (1::bigint << {ORDINAL_BITS}) THEN
        RAISE EXCEPTION 'one transaction may publish at most % events', 1::bigint << {ORDINAL_BITS};
    END IF;
    WITH written AS (
        INSERT INTO event (id, type, data, audience, ticket_id, store_id)
        SELECT first_id + r.position - 1, r.type, r.data, r.audience, r.ticket_id, r.store_id
        FROM ROWS FROM (jsonb_to_recordset(NEW.rows)
                        AS (type text, data jsonb, audience text, ticket_id bigint, store_id bigint))
             WITH ORDINALITY AS r(type, data, audience, ticket_id, store_id, position)
        ORDER BY r.position
        RETURNING id)
    SELECT max(id) INTO last_id FROM written;
    DELETE FROM event_batch WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""

# 0001's function, for downgrade: ids from the sequence, under the commit-order lock.
WRITE_EVENTS_LOCKED = """
CREATE OR REPLACE FUNCTION desk_write_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7201001);
    WITH written AS (
        INSERT INTO event (type, data, audience, ticket_id, store_id)
        SELECT r.type, r.data, r.audience, r.ticket_id, r.store_id
        FROM ROWS FROM (jsonb_to_recordset(NEW.rows)
                        AS (type text, data jsonb, audience text, ticket_id bigint, store_id bigint))
             WITH ORDINALITY AS r(type, data, audience, ticket_id, store_id, position)
        ORDER BY r.position
        RETURNING id)
    SELECT max(id) INTO last_id FROM written;
    PERFORM pg_notify('desk_events', last_id::text);
    DELETE FROM event_batch WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""

CHECK_IDS_BELOW_NEW_SCHEME = f"""
DO $$
DECLARE
    newest bigint := (SELECT max(id) FROM event);
    floor bigint := pg_current_xact_id()::text::bigint << {ORDINAL_BITS};
BEGIN
    IF newest IS NOT NULL AND newest >= floor THEN
        RAISE EXCEPTION 'event ids reach % but new ids start at %: new events would sort below old ones',
            newest, floor
            USING HINT = 'archive and delete the old events (or renumber them below that value), then upgrade';
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute(CHECK_IDS_BELOW_NEW_SCHEME)
    op.execute(WRITE_EVENTS)
    op.execute("ALTER TABLE event ALTER COLUMN id DROP DEFAULT")


def downgrade() -> None:
    op.execute("SELECT setval('event_id_seq', greatest((SELECT max(id) FROM event), 1))")
    op.execute("ALTER TABLE event ALTER COLUMN id SET DEFAULT nextval('event_id_seq')")
    op.execute(WRITE_EVENTS_LOCKED)
