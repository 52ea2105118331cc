"""Telling a database outage from a bug: the request could not reach PostgreSQL (refused, dropped,
shut down, not accepting connections), so the honest answer is 503 with Retry-After, not a 500."""

from __future__ import annotations

from collections.abc import Iterator

from asyncpg import exceptions as pg
from sqlalchemy import exc as sa

RETRY_AFTER_SECONDS = 5
# Errors of the server, not of the statement: connection exceptions (08), operator intervention
# (57: shutdown, terminated, cannot connect now) and too many connections (53300).
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    pg.PostgresConnectionError, pg.OperatorInterventionError, pg.TooManyConnectionsError,
    sa.InterfaceError,
)
# Socket-level failures (refused, reset, unreachable, connect timeout) count when they come out of
# the database driver; a missing attachment file is an OSError too, and no outage.
SOCKET_ERRORS = (OSError, TimeoutError)
DRIVER_MODULES = ("asyncpg", "sqlalchemy")
# A database an admin closed (ALTER DATABASE ... ALLOW_CONNECTIONS false) refuses new connections
# with a general SQLSTATE (55000); its message is the only thing that tells it apart.
NOT_ACCEPTING = "is not currently accepting connections"


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


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    chain = list(_chain(exc))
    # asyncpg reports a value it cannot encode (an int beyond int64) as an InterfaceError too
    refused = refused_value(exc)
    for found in chain:
        if isinstance(found, OUTAGE_ERRORS) or (isinstance(found, sa.InterfaceError) and not refused):
            return True
        if isinstance(found, SOCKET_ERRORS) and _raised_in_driver(found):
            return True
        if isinstance(found, pg.ObjectNotInPrerequisiteStateError) and NOT_ACCEPTING in str(found):
            return True
    return False


def _raised_in_driver(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        module = frame.tb_frame.f_globals.get("__name__", "")
        if module.startswith(DRIVER_MODULES):
            return True
        frame = frame.tb_next
    return False


def refused_value(exc: BaseException) -> bool:
    """PostgreSQL refused a value (SQLSTATE class 22), or asyncpg could not encode a parameter."""
    for found in _chain(exc):
        if isinstance(found, ValueError) or str(getattr(found, "sqlstate", None) or "").startswith("22"):
            return True
    return False
