"""The outbox's three statements, kept apart from the worker that runs them.

Claim: walks due rows in `next_attempt_at` order and keeps a row only if it is the head (oldest live
row) of its `order_key`, checked per row by a correlated lookup on the (order_key, id) index. A
correlated subquery is not turned into a join, so the walk stops as soon as `limit` rows are found,
whatever the table statistics say (before the first ANALYZE the planner once chose a nested loop over
every pair of rows: 1 s per claim at 3000 rows). The candidates are a MATERIALIZED CTE (evaluated
once), locked with SKIP LOCKED so concurrent workers take disjoint rows, then leased in one statement.
A row being sent is claimable again when its lease ran out, or at once when the worker that claimed
it is gone: its lease identity (an advisory lock held by its own session) is no longer in pg_locks
although the server has run since the claim. After a server restart every lock is gone, dead worker
or not, so rows claimed before it wait for their lease (their worker is likely alive and records
its outcome once the database is back).
"""

from __future__ import annotations

from sqlalchemy import text

# Advisory lock class of the workers' lease identities (see core.outbox.LeaseOwner); the scheduler's
# leader lock is 7_201_002.
LEASE_LOCK_CLASS = 7_201_003

CLAIM = text(
    """
    WITH claimable AS MATERIALIZED (
        SELECT o.id FROM outbox o
        WHERE o.state IN ('pending', 'sending')
          AND o.channel = ANY(:channels)
          AND ((o.state = 'pending' AND o.next_attempt_at <= now())
               OR (o.state = 'sending' AND (o.locked_until < now() OR (
                     o.claimed_by IS NOT NULL AND o.claimed_at > pg_postmaster_start_time() AND NOT EXISTS (
                         SELECT 1 FROM pg_locks l
                         WHERE l.locktype = 'advisory' AND l.classid = :lease_class
                           AND l.objid::bigint = o.claimed_by AND l.objsubid = 2 AND l.granted
                           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))))))
          AND o.id = (SELECT p.id FROM outbox p
                      WHERE p.order_key = o.order_key AND p.state IN ('pending', 'sending')
                      ORDER BY p.id LIMIT 1)
        ORDER BY o.next_attempt_at, o.id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED)
    UPDATE outbox SET state = 'sending', locked_until = now() + make_interval(secs => :lease),
                      attempts = outbox.attempts + 1, claimed_by = CAST(:owner AS bigint),
                      claimed_at = now()
    FROM claimable WHERE outbox.id = claimable.id
    RETURNING outbox.id, outbox.channel, outbox.kind, outbox.payload, outbox.attempts, outbox.message_id
    """
)

# Every outcome of one pass in one statement. `attempts` must still be the one this worker claimed:
# a worker whose lease ran out (and whose row another worker took) cannot overwrite the newer outcome.
RECORD = text(
    """
    UPDATE outbox AS o SET
        state = r.state,
        result = CASE WHEN r.state = 'sent' THEN r.result ELSE o.result END,
        last_error = r.error,
        locked_until = NULL,
        done_at = CASE WHEN r.state = 'pending' THEN NULL ELSE now() END,
        next_attempt_at = CASE WHEN r.state = 'pending' THEN now() + make_interval(secs => r.delay)
                               ELSE o.next_attempt_at END
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS r(id bigint, attempts integer, state text, result jsonb, error text, delay float8)
    WHERE o.id = r.id AND o.attempts = r.attempts AND o.state = 'sending'
    RETURNING o.id
    """
)

# A worker's own rows still marked as being sent while it sends nothing (run between its passes only):
# pending again at once.
RELEASE_OWN = text(
    """
    UPDATE outbox SET state = 'pending', locked_until = NULL, claimed_by = NULL, next_attempt_at = now()
    WHERE claimed_by = CAST(:owner AS bigint) AND state = 'sending'
    RETURNING id
    """
)

# Until the next row that could be claimed: heads of order keys only. Rows queued behind a head that
# waits (a 429, a slow send) do not count, so nobody polls for them.
NEXT_DUE = text(
    """
    SELECT min(CASE WHEN head.state = 'sending' THEN head.locked_until ELSE head.next_attempt_at END)
    FROM (SELECT DISTINCT ON (order_key) channel, state, locked_until, next_attempt_at
          FROM outbox WHERE state IN ('pending', 'sending') ORDER BY order_key, id) AS head
    WHERE head.channel = ANY(:channels)
    """
)
