"""What each customer channel can do. Core asks these questions; it never branches on a channel's name.

Each adapter declares its `ChannelSpec` (Telegram in `bot/channel_spec.py`, e-mail in
`core/mail/channel_spec.py`, the website chat in `web/channel_spec.py`); the composition root
(`desk.build_channels`) puts them in one `ChannelRegistry`, keeps it on `Desk.channels` and gives it
to every session through the session factory's `info`, as the SLA clock is given: the use cases that
ask (closing, typing, notices, ratings) sit under `tickets.change_status` and its thirty callers, so
they read it with `channels_of(session)` instead of taking one more argument on every front.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound

CHANNELS_KEY = "channels"

Capability = Literal[
    "edits", "replies", "buttons", "typing_indicator", "read_receipts", "live_conversations",
    "reopens", "offline_alerts", "rates_on_close", "customer_notices", "served",
]


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int
    kinds: frozenset[str]  # photo, document, voice, audio, video, ...


@dataclass(frozen=True)
class RateLimit:
    per_recipient: float  # messages per second to one recipient
    overall: float  # messages per second in all


@dataclass(frozen=True)
class ChannelSpec:
    """A channel's capabilities. Flags default to "no", so a new channel claims only what it does."""

    name: str
    label: str
    served: bool = True  # False: declared for what is coming, no adapter runs it yet
    edits: bool = False  # a sent reply can be edited in place
    replies: bool = False  # a message can answer (thread under) another one
    files: FileLimits | None = None
    buttons: bool = False
    typing_indicator: bool = False
    read_receipts: bool = False
    rate_limit: RateLimit | None = None
    live_conversations: bool = False  # one live ticket per contact; messages go to it
    reopens: bool = False  # a message within the reopen window reopens the last closed ticket
    offline_alerts: bool = False  # operators are alerted when nobody has the panel open
    rates_on_close: bool = False  # the customer is asked for a rating when the ticket closes
    customer_notices: bool = False  # auto-close notices and other notices from jobs reach the customer

    def can(self, capability: Capability) -> bool:
        return bool(getattr(self, capability))


CAPABILITIES: tuple[str, ...] = tuple(f.name for f in fields(ChannelSpec) if f.type == "bool")


class UnknownChannel(NotFound):
    """A channel name no adapter registered (a ticket of a channel this process does not know)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown channel {name!r}: no adapter registered it", channel=name)
        self.name = name


class ChannelRegistry:
    """The channels of one process, built once by the composition root; read-only after that."""

    def __init__(self, specs: Iterable[ChannelSpec] = ()) -> None:
        self._specs: dict[str, ChannelSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ChannelSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"channel {spec.name!r} is registered twice")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ChannelSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise UnknownChannel(name)
        return spec

    def all(self) -> list[ChannelSpec]:
        return list(self._specs.values())

    def with_capability(self, capability: Capability) -> list[ChannelSpec]:
        return [spec for spec in self._specs.values() if spec.can(capability)]

    def names_with(self, capability: Capability) -> list[str]:
        return [spec.name for spec in self.with_capability(capability)]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ChannelSpec]:
        return iter(self._specs.values())


def channels_of(session: AsyncSession) -> ChannelRegistry:
    """The registry the session factory was built with (`create_session_factory(engine, channels=...)`)."""
    registry = session.info.get(CHANNELS_KEY)
    if not isinstance(registry, ChannelRegistry):
        raise LookupError("this session carries no channel registry: build its factory with channels=...")
    return registry
