"""FSM state in PostgreSQL, read and written in the update's own transaction: the state moves only
if the update commits, and a restart or another process continues the conversation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import DisabledEventIsolation, MemoryStorage
from aiogram.types import TelegramObject
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import FsmState

_READ = select(FsmState.__table__.c.state, FsmState.__table__.c.data).where(
    FsmState.__table__.c.key == bindparam("key"))


# The chat's state as the update's intake read it: (storage key, state, data), in the handler data.
PREREAD = "fsm_preread"


def storage_key(key: StorageKey) -> str:
    return f"{key.bot_id}:{key.chat_id}:{key.user_id}:{key.thread_id or 0}:{key.destiny}"


class SessionStorage(BaseStorage):
    """aiogram storage bound to one update's session."""

    def __init__(self, session: AsyncSession, preread: tuple[str, str | None, dict[str, Any]] | None = None) -> None:
        self.session = session
        self._loaded: dict[str, tuple[str | None, dict[str, Any]]] = {}
        if preread is not None:  # read by the update's intake statement, in this transaction
            name, state, data = preread
            self._loaded[name] = (state, dict(data))

    async def _row(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        """State and data, read once per update (the handlers' writes keep the copy current)."""
        name = storage_key(key)
        if name not in self._loaded:
            row = (await self.session.execute(_READ, {"key": name})).one_or_none()
            self._loaded[name] = (row.state, dict(row.data)) if row else (None, {})
        return self._loaded[name]

    async def _upsert(self, key: StorageKey, **values: Any) -> None:
        state, data = await self._row(key)
        new = (values.get("state", state), dict(values.get("data", data)))
        if new == (state, data):
            return  # unchanged (a missing row reads as no state and no data): nothing to write
        self._loaded[storage_key(key)] = new
        stmt = insert(FsmState).values(key=storage_key(key), **values)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={**values, "updated_at": func.now()})
        await self.session.execute(stmt)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if state is not None and not isinstance(state, str) else state
        await self._upsert(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._row(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._upsert(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._row(key))[1])

    async def close(self) -> None:
        return None


class SessionFSMMiddleware(FSMContextMiddleware):
    """Runs inside UpdateSessionMiddleware; gives handlers an FSMContext on the update's session."""

    def __init__(self) -> None:
        super().__init__(storage=MemoryStorage(), events_isolation=DisabledEventIsolation())

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = self.resolve_event_context(cast(Bot, data["bot"]), data)
        if context is None or "session" not in data:
            return await handler(event, data)
        preread = data.pop(PREREAD, None)
        if preread is not None and preread[0] != storage_key(context.key):
            preread = None
        bound = FSMContext(storage=SessionStorage(data["session"], preread), key=context.key)
        data.update({"state": bound, "raw_state": await bound.get_state(), "fsm_storage": bound.storage})
        return await handler(event, data)


_RESOLVER = SessionFSMMiddleware()


def chat_state_key(data: dict[str, Any]) -> str | None:
    """The storage key of the update's chat state (None: the update has no chat context)."""
    context = _RESOLVER.resolve_event_context(cast(Bot, data["bot"]), data)
    return storage_key(context.key) if context is not None else None
