"""Which errors mean "the database cannot be reached now" (waited out, retried, answered 503) and which
are a fault of the work itself (core.db.database_unavailable)."""

from __future__ import annotations

import asyncpg
import pytest

from core.db import database_unavailable


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    asyncpg.ObjectNotInPrerequisiteStateError('database "desk" is not currently accepting connections'),
], ids=lambda e: type(e).__name__)
def test_the_server_away_or_a_connection_it_left_broken_is_an_outage(error: Exception) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize("error", [
    asyncpg.InternalClientError("unexpected error while performing authentication"),
    asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
    FileNotFoundError("attachment missing"),
], ids=lambda e: type(e).__name__)
def test_a_fault_of_the_work_is_no_outage(error: Exception) -> None:
    assert not database_unavailable(error)
