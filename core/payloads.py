"""Event payloads defined once, rendered two ways: from a loaded row in Python (`as_dict`), or as SQL
from a statement's own columns (`as_jsonb`), so that a statement that writes a row can hand its event
over in the same round trip (`core.services.conversations.customer_wrote`). Both renderings read the
same field list; `tests/integration/test_customer_message_statement.py` compares them on real rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, case, func, literal_column
from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class Field:
    """One key of a payload: its value from a loaded object and from a statement's columns (`.c`)."""

    name: str
    value: Callable[[Any], Any]
    sql: Callable[[Any], ColumnElement[Any]]


def column(name: str) -> Field:
    """A column as it is (numbers, text, jsonb)."""
    return Field(name, lambda row: getattr(row, name), lambda columns: columns[name])


def moment(name: str) -> Field:
    """A timestamp as `datetime.isoformat()` writes it (UTC, as asyncpg loads it), or null."""
    return Field(name, lambda row: iso(getattr(row, name)), lambda columns: iso_sql(columns[name]))


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def constant(value: str) -> ColumnElement[str]:
    """A string of the code written into the statement, not bound: the statement is built once and
    runs for every message, and each bound value is work for the driver on every run."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def iso_sql(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """`iso` in SQL, character for character: whole seconds carry no fraction, others six digits."""
    utc = value.op("AT TIME ZONE")(constant("UTC"))
    whole = func.extract("microseconds", value) % literal_column("1000000") == literal_column("0")
    micros = case((whole, constant("")), else_=func.to_char(utc, constant(".US")))
    return func.to_char(utc, constant('YYYY-MM-DD"T"HH24:MI:SS')).concat(micros).concat(constant("+00:00"))


def as_dict(fields: Sequence[Field], row: Any) -> dict[str, Any]:
    return {field.name: field.value(row) for field in fields}


def as_jsonb(fields: Sequence[Field], columns: Any) -> ColumnElement[Any]:
    """The payload as a jsonb object built by the statement from `columns` (a table's or a CTE's `.c`)."""
    args: list[Any] = []
    for field in fields:
        args += [constant(field.name), field.sql(columns)]
    return func.jsonb_build_object(*args)
