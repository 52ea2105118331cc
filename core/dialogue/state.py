"""The state of one customer's dialogue on one channel: the step (choosing a topic, typing an order
number, commenting a rating) and data (the transcript before a handoff, the ticket being rated).

Kept in the `fsm_state` table under `dialogue:<channel>:<contact id>`, read and written with the
update's own session: the state moves only if the update commits (as `bot/fsm.py` does for aiogram)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, bindparam, func, literal, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import preloaded
from core.models import FsmState

KEEP_TURNS = 10  # the transcript a handoff carries into the ticket: the last ten turns

_READ = select(FsmState.__table__.c.state, FsmState.__table__.c.data).where(
    FsmState.__table__.c.key == bindparam("key"))


def state_key(channel: str, contact_id: int) -> str:
    return f"dialogue:{channel}:{contact_id}"


@dataclass
class DialogueState:
    key: str
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    _loaded: tuple[str | None, dict[str, Any]] = (None, {})

    @property
    def turns(self) -> list[dict[str, Any]]:
        return list(self.data.get("turns", []))

    def add_turn(self, turn: dict[str, Any]) -> None:
        key = turn.get("key")
        turns = self.turns
        if key and any(t.get("key") == key for t in turns):
            return  # the same message again (a redelivered update)
        self.data = {**self.data, "turns": ([*turns, turn])[-KEEP_TURNS:]}

    def take_turns(self) -> list[dict[str, Any]]:
        turns = self.turns
        self.data = {**self.data, "turns": []}
        return turns


_PRELOADED = "desk_dialogue_preloaded"


def state_key_sql(channel: Any, contact_id: Any) -> Any:
    """`state_key` as SQL, for a statement that reads the state along with the contact."""
    return literal("dialogue:") + channel + literal(":") + sql_cast(contact_id, String)


def preload(session: AsyncSession, key: str, step: str | None, data: dict[str, Any] | None) -> None:
    """The state as a statement that did more just read it in this transaction (no row: step None and no
    data): the next `load` of the key uses it instead of a SELECT; later loads read again."""
    preloaded.keep(session, _PRELOADED, key, (step, dict(data or {})))


async def load(session: AsyncSession, channel: str, contact_id: int) -> DialogueState:
    key = state_key(channel, contact_id)
    kept = preloaded.take(session, _PRELOADED, key)
    if kept is not preloaded.NOT_READ:
        step, data = kept
        return DialogueState(key, step, dict(data), (step, dict(data)))
    row = (await session.execute(_READ, {"key": key})).one_or_none()
    step, data = (row.state, dict(row.data)) if row else (None, {})
    return DialogueState(key, step, dict(data), (step, dict(data)))


async def save(session: AsyncSession, state: DialogueState) -> None:
    """Write the state if it changed (a dialogue that never moved leaves no row)."""
    if (state.step, state.data) == state._loaded:
        return
    values = {"state": state.step, "data": state.data}
    stmt = insert(FsmState).values(key=state.key, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={**values, "updated_at": func.now()})
    await session.execute(stmt)
    state._loaded = (state.step, dict(state.data))
