"""One engine and one session factory per process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core.assignment import RULES_KEY, AssignmentRules
from core.channels import CHANNELS_KEY, ChannelRegistry
from core.i18n import TRANSLATOR_KEY, Translator

# A connection back from use this recently has just proven itself; one idle longer is pinged first.
PING_AFTER_IDLE_SECONDS = 10.0


def async_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def asyncpg_dsn(url: str) -> str:
    """The same URL for plain asyncpg (LISTEN connections, benchmarks)."""
    parsed = make_url(async_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 30, behind_pooler: bool = False) -> AsyncEngine:
    """`pool_size` connections are kept once opened; the overflow ones are closed when given back. A
    webhook takes up to 40 updates at once (Telegram's default `max_connections`), each holding a
    connection: a pool kept smaller than that opens and closes a connection (a server process, its
    authentication and type set-up) for most updates under load.

    `behind_pooler` (PgBouncer in transaction mode): consecutive transactions of one of our connections
    may run on different server connections, so no prepared statement may outlive its transaction:
    asyncpg's and SQLAlchemy's statement caches are off, and the statements the dialect still prepares
    get unique names (never "__asyncpg_stmt_1__" twice on one server connection)."""
    connect_args: dict[str, Any] = {}
    if behind_pooler:
        connect_args = {"statement_cache_size": 0, "prepared_statement_cache_size": 0,
                        "prepared_statement_name_func": _unique_statement_name}
    engine = create_async_engine(async_url(url), pool_size=pool_size, max_overflow=10, pool_recycle=1800,
                                 connect_args=connect_args)
    ping_after_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


# Connections of the pool left to the process's background work (the outbox worker, the dead-letter
# replayer, the scheduler's jobs) while updates take the rest: a sixth of the pool, at least two.
BACKGROUND_SHARE = 6
BACKGROUND_MIN = 2


def handling_slots(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many updates (or other units of inbound work) a process handles at once: the connections its
    pool keeps, less a share for its background work. Taking more at once asks the pool for its
    overflow connections, which are closed when given back: a burst would then open and close a server
    session (a process, its authentication and type set-up) for most of its updates."""
    bind = sessions.kw.get("bind")
    size = bind.pool.size() if isinstance(bind, AsyncEngine) and hasattr(bind.pool, "size") else 5
    return max(1, size - max(BACKGROUND_MIN, size // BACKGROUND_SHARE))


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def ping_after_idle(engine: AsyncEngine, seconds: float) -> None:
    """Pessimistic disconnect handling for idle connections only. `pool_pre_ping` pings on every
    checkout, and asyncpg's ping is three round trips (BEGIN, ping, ROLLBACK): more than a bot update's
    own statements cost. A connection that a dead server dropped while in steady use fails its next
    statement, and SQLAlchemy then invalidates the whole pool."""

    @event.listens_for(engine.sync_engine, "checkin")
    def idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool drops this connection and checks out another
            raise DisconnectionError("idle connection failed its ping") from exc


def create_session_factory(
    engine: AsyncEngine, *, channels: ChannelRegistry | None = None, translator: Translator | None = None,
    assignment: AssignmentRules | None = None,
) -> async_sessionmaker[AsyncSession]:
    """Sessions of this process; they carry the channel registry (`core.channels.channels_of`), the
    translator (`core.i18n.translator_of`: texts core renders under the use cases, e.g. operator alerts)
    and the auto-assignment rules (`core.assignment.rules_of`)."""
    info: dict[str, object] = {CHANNELS_KEY: channels} if channels is not None else {}
    if translator is not None:
        info[TRANSLATOR_KEY] = translator
    if assignment is not None:
        info[RULES_KEY] = assignment
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


# Errors of the server, not of the statement: connection exceptions (08), operator intervention
# (57: shutdown, terminated, cannot connect now) and too many connections (53300).
_SERVER_AWAY: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError, asyncpg.TooManyConnectionsError,
)
# Socket-level failures (refused, reset, unreachable, connect timeout) count when they come out of
# the database driver; a missing attachment file is an OSError too, and no outage.
_DRIVER_MODULES = ("asyncpg", "sqlalchemy")
# A database an admin closed (ALTER DATABASE ... ALLOW_CONNECTIONS false) refuses new connections
# with a general SQLSTATE (55000); its message is the only thing that tells it apart.
_NOT_ACCEPTING = "is not currently accepting connections"
# A connection whose server went away in the middle of a statement can be left in a state where asyncpg
# refuses the next operation on it ("cannot switch to state 12; another operation (2) is in progress",
# seen when a ROLLBACK follows a lost query during a restart): that connection is done for, not the work.
_STUCK = "another operation"


def database_unavailable(exc: BaseException) -> bool:
    """Whether an error means "the database cannot be reached now" (down, restarting, refusing
    connections, the connection dropped), as opposed to a fault of the work itself. Such work is
    waited out and tried again (or answered 503), never given up, dead-lettered or answered 500."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    chain = list(_chain(exc))
    refused = refused_value(exc)  # asyncpg reports a value it cannot encode as an InterfaceError too
    for found in chain:
        if isinstance(found, (*_SERVER_AWAY, sa_exc.TimeoutError)):
            return True
        if isinstance(found, sa_exc.InterfaceError | asyncpg.InterfaceError) and not refused:
            return True
        if isinstance(found, OSError | TimeoutError) and _raised_in_driver(found):
            return True
        if isinstance(found, asyncpg.ObjectNotInPrerequisiteStateError) and _NOT_ACCEPTING in str(found):
            return True
        if isinstance(found, asyncpg.InternalClientError) and _STUCK in str(found):
            return True
    return False


def refused_value(exc: BaseException) -> bool:
    """PostgreSQL refused a value (SQLSTATE class 22), or asyncpg could not encode a parameter."""
    for found in _chain(exc):
        if isinstance(found, ValueError) or str(getattr(found, "sqlstate", None) or "").startswith("22"):
            return True
    return False


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (SQLAlchemy's `orig`) and what caused it, each once."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                pending.append(inner)


def _raised_in_driver(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        module = frame.tb_frame.f_globals.get("__name__", "")
        if module.startswith(_DRIVER_MODULES):
            return True
        frame = frame.tb_next
    return False
