"""Rows that a statement doing more has just read in this transaction (the update's intake,
`core.services.updates.take_in`), handed once to the one function that owns the rule: that function
uses them instead of reading again; a later call reads again."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

NOT_READ: Any = object()  # `take` found nothing kept: read


def keep(session: AsyncSession, kind: str, key: Hashable, rows: Any) -> None:
    session.sync_session.info.setdefault(kind, {})[key] = rows


def take(session: AsyncSession, kind: str, key: Hashable) -> Any:
    """The rows kept for `key`, once; NOT_READ when none were."""
    return session.sync_session.info.get(kind, {}).pop(key, NOT_READ)
