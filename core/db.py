"""One engine and one session factory per process."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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


def create_engine(url: str, *, pool_size: int = 30) -> AsyncEngine:
    """`pool_size` connections are kept once opened; the overflow ones are closed when given back. A
    webhook takes up to 40 updates at once (Telegram's default `max_connections`), each holding a
    connection: a pool kept smaller than that opens and closes a connection (a server process, its
    authentication and type set-up) for most updates under load."""
    engine = create_async_engine(async_url(url), pool_size=pool_size, max_overflow=10, pool_recycle=1800)
    ping_after_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


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


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


def database_unavailable(exc: BaseException) -> bool:
    """Whether an error means "the database cannot be reached now" (down, restarting, refusing
    connections, the connection dropped), as opposed to a fault of the work itself. Such work is
    waited out and tried again, never given up or dead-lettered."""
    import asyncpg
    from sqlalchemy import exc as sa_exc

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and not isinstance(current, _FILE_ERRORS):
            return True
        if isinstance(current, TimeoutError | sa_exc.TimeoutError):
            return True
        if isinstance(current, asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError
                      | asyncpg.TooManyConnectionsError | asyncpg.exceptions.ConnectionDoesNotExistError):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "closed" in str(current):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        nested = getattr(current, "orig", None)
        current = nested if isinstance(nested, BaseException) and id(nested) not in seen else (
            current.__cause__ or current.__context__)
    return False
