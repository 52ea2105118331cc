"""What each customer channel can do. Core asks these questions; it never branches on a channel's name.

Each adapter declares its `ChannelSpec` (Telegram in `bot/channel_spec.py`, e-mail in
`core/mail/channel_spec.py`, the website chat in `web/channel_spec.py`); the composition root
(`desk.build_channels`) puts them in one `ChannelRegistry`, keeps it on `Desk.channels` and gives it
to every session through the session factory's `info`, as the SLA clock is given: the use cases that
ask (closing, typing, notices, ratings) sit under `tickets.change_status` and its thirty callers, so
they read it with `channels_of(session)` instead of taking one more argument on every front.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound

if TYPE_CHECKING:
    from core.dialogue.answers import Answer
    from core.outbox import Channel
    from core.services.conversations import Inbound

CHANNELS_KEY = "channels"

Capability = Literal[
    "edits", "replies", "buttons", "typing_indicator", "read_receipts", "live_conversations",
    "reopens", "offline_alerts", "rates_on_close", "customer_notices", "served", "takes_orders",
    "staff_alerts",
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
class Notice:
    """A ready notice for one customer, channel-neutral: the channel renders it (escaping, subject)."""

    text: str  # plain text, unless `html` (already rendered and escaped, as order notices are)
    subject: str = ""  # where a channel has subjects (e-mail)
    buttons: list[list[dict[str, str]]] | None = None  # where a channel has buttons
    html: bool = False


# How a channel addresses a notice: (identity's external_id, notice) -> (payload of its `text` kind, order_key).
NoticeFormat = Callable[[str, Notice], tuple[dict[str, Any], str]]
# How a channel addresses a typing hint: (identity's external_id, action) -> (payload of its `chat_action`
# kind, order_key). Without one core queues the neutral `typing_payload`.
TypingFormat = Callable[[str, str], tuple[dict[str, Any], str]]


def typing_payload(channel: str, external_id: str, action: str) -> tuple[dict[str, Any], str]:
    """The channel-neutral `chat_action` payload: the identity's external id as `address`, in a lane of
    its own per recipient (a typing hint never waits behind, or holds up, the customer's replies)."""
    return {"address": external_id, "action": action}, f"typing:{channel}:{external_id}"


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
    takes_orders: bool = False  # the adapter runs an order flow: the dialogue's menu offers ordering
    staff_alerts: bool = False  # the channel that reaches staff (SLA, order and offline alerts to operators)
    # Seconds after which an operator's reply the customer has not seen is also mailed to the reply
    # e-mail they left (`contacts.reply_email_of`); None: never (the channel, or mail, does not do it).
    email_copy_after: float | None = None
    # Builds the payload of the channel's `text` kind for a notice (set where customer_notices is).
    notice_format: NoticeFormat | None = field(default=None, compare=False)
    # Builds the payload of the channel's `chat_action` kind (where typing_indicator is); else `typing_payload`.
    typing_format: TypingFormat | None = field(default=None, compare=False)

    def can(self, capability: Capability) -> bool:
        return bool(getattr(self, capability))


CAPABILITIES: tuple[str, ...] = tuple(f.name for f in fields(ChannelSpec) if f.type == "bool")


@dataclass(frozen=True)
class Parsed:
    """A channel's raw inbound turned into what core stores, and what the channel wants the customer
    told about it (files refused, kinds it cannot pass on), already in the customer's language."""

    inbound: Inbound
    notices: tuple[str, ...] = ()


# raw inbound (as the adapter kept it, JSON) and the customer's language -> Parsed; may fetch files
Parse = Callable[[dict[str, Any], str], Awaitable[Parsed]]
# core's answers -> whatever the channel sends (Telegram: messages and keyboards; a test: dicts)
Render = Callable[["list[Answer]", str], Any]


@dataclass(frozen=True)
class ChannelAdapter:
    """What a running adapter hands core besides its spec: its parser (core calls it back at handoff
    for the messages kept before a ticket existed, and for messages into a live ticket), its
    renderer of dialogue answers, and its outbox channel (`deliver`). Registered by the process
    that runs the channel (`ChannelRegistry.attach`), since parsing may need a live client."""

    spec: ChannelSpec
    parse: Parse
    render: Render
    deliver: Channel | None = None


class UnknownChannel(NotFound):
    """A channel name no adapter registered (a ticket of a channel this process does not know)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown channel {name!r}: no adapter registered it", channel=name)
        self.name = name


class ChannelRegistry:
    """The channels of one process, built once by the composition root; read-only after that."""

    def __init__(self, specs: Iterable[ChannelSpec] = ()) -> None:
        self._specs: dict[str, ChannelSpec] = {}
        self._adapters: dict[str, ChannelAdapter] = {}
        for spec in specs:
            self.register(spec)

    def attach(self, adapter: ChannelAdapter) -> None:
        """The running adapter of a channel (its spec is registered here if it was not): the last one
        attached wins, so a process that rebuilds its bot replaces it."""
        if adapter.spec.name not in self._specs:
            self.register(adapter.spec)
        self._adapters[adapter.spec.name] = adapter

    def adapter(self, name: str) -> ChannelAdapter:
        found = self._adapters.get(name)
        if found is None:
            self.get(name)  # an unknown name is UnknownChannel
            raise LookupError(f"channel {name!r} has no running adapter in this process")
        return found

    def adapters(self) -> list[ChannelAdapter]:
        return list(self._adapters.values())

    def deliverers(self) -> dict[str, Channel]:
        """The outbox channels of the running adapters, by name (what an `OutboxWorker` takes)."""
        return {name: adapter.deliver for name, adapter in self._adapters.items() if adapter.deliver is not None}

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

    def staff_channel(self) -> ChannelSpec | None:
        """The channel that reaches staff (operators and partners who linked it), if any runs here."""
        return next(iter(self.with_capability("staff_alerts")), None)

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


def staff_channel_of(session: AsyncSession) -> str | None:
    """The name of the channel that reaches staff, None when no adapter of this process does."""
    spec = channels_of(session).staff_channel()
    return spec.name if spec is not None else None
