"""Request and response models of the JSON API (they also write /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.services.conversations import MAX_BODY
from web.input_guard import BIGINT_MAX, refuse_bad

# A database id: a bigint column holds no more, and PostgreSQL would refuse it with a 500.
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]

Status = Literal["open", "in_progress", "waiting_customer", "closed"]
Priority = Literal["low", "medium", "high", "urgent"]
Channel = Literal["telegram", "email", "web"]
Role = Literal["admin", "operator", "partner"]
Language = Literal["en", "ru"]


class Strict(BaseModel):
    """Every request model: unknown fields refused; NUL and lone surrogates refused naming the field
    (web.input_guard checks JSON and queries first; this also covers multipart form fields, which
    the guard does not read)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _clean_input(cls, data: Any) -> Any:
        refuse_bad(data)
        return data


class LoginIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    csrf_token: str
    operator: OperatorOut


class PasswordLinkIn(Strict):
    token: str = Field(min_length=10, max_length=256)
    password: str = Field(min_length=10, max_length=1024)


class OperatorOut(BaseModel):
    id: int
    email: str | None = None
    display_name: str
    role: Role
    language: Language
    is_active: bool


class MeOut(OperatorOut):
    csrf_token: str
    time_zone: str | None = Field(description="IANA name; null: the panel shows the browser's time zone")


class MePatch(Strict):
    language: Language | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    time_zone: str | None = Field(default=None, max_length=64, description='IANA name; "" for the browser\'s zone')


class SessionOut(BaseModel):
    id: int
    current: bool
    user_agent: str
    ip: str
    created_at: str
    last_seen_at: str


class TicketQuery(Strict):
    status: list[Status] = Field(default_factory=list)
    queue_id: Id | None = None
    assignee: str = Field(default="any", pattern=r"^(any|mine|unassigned|\d{1,18})$")
    channel: Channel | None = None
    priority: Priority | None = None
    q: str = Field(default="", max_length=200)
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)


class TicketOut(BaseModel):
    id: int
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    queue_id: int
    queue_name: str
    contact_id: int
    contact_name: str
    contact_username: str | None
    assignee_id: int | None
    assignee_name: str | None
    unread_count: int
    frt_due_at: str | None
    ttr_due_at: str | None
    created_at: str | None
    updated_at: str | None


class FileLimitsOut(BaseModel):
    max_bytes: int
    kinds: list[str]


class RateLimitOut(BaseModel):
    per_recipient: float = Field(description="Messages per second to one recipient")
    overall: float = Field(description="Messages per second in all")


class ChannelOut(BaseModel):
    """What a customer channel can do (declared by its adapter); `served: false` is declared, not running."""

    name: str
    label: str
    served: bool
    edits: bool
    replies: bool
    files: FileLimitsOut | None
    buttons: bool
    typing_indicator: bool
    read_receipts: bool
    rate_limit: RateLimitOut | None
    live_conversations: bool
    reopens: bool
    offline_alerts: bool
    rates_on_close: bool
    customer_notices: bool


class ChannelList(BaseModel):
    items: list[ChannelOut]


class TicketDetailOut(TicketOut):
    channel_capabilities: ChannelOut


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class TicketPatch(Strict):
    status: Status | None = None
    priority: Priority | None = None
    queue_id: Id | None = None
    assignee_id: Id | None = None


class MessagesQuery(Strict):
    after: int = Field(default=0, ge=0, le=BIGINT_MAX)
    limit: int = Field(default=200, ge=1, le=500)


class AttachmentOut(BaseModel):
    id: int
    file_name: str
    content_type: str
    size: int
    available: bool
    problem: str | None


class MessageOut(BaseModel):
    id: int
    ticket_id: int
    author_kind: Literal["customer", "operator", "bot", "system"]
    operator_id: int | None
    body: str
    kind: str
    delivery_state: Literal["none", "queued", "sent", "failed"]
    delivery_error: str | None
    created_at: str | None
    attachments: list[AttachmentOut]


class MessageList(BaseModel):
    items: list[MessageOut]


class ReplyIn(Strict):
    """JSON, or multipart/form-data with the same fields plus `file` parts."""

    body: str = Field(default="", max_length=MAX_BODY)
    client_key: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    reply_to_id: Id | None = None


class NoteIn(Strict):
    body: str = Field(min_length=1, max_length=MAX_BODY)


class NoteOut(BaseModel):
    id: int
    ticket_id: int
    operator_id: int
    body: str
    created_at: str


class QueueOut(BaseModel):
    id: int
    slug: str
    name: str
    position: int
    customer_visible: bool


class QueueIn(Strict):
    slug: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=128)


class QueuePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    customer_visible: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)


class InviteIn(Strict):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Role
    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    language: Language = "en"


class LinkOut(BaseModel):
    operator: OperatorOut
    link: str
    expires_in_hours: int


class OperatorPatch(Strict):
    is_active: bool | None = None
    role: Role | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=128)


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=128)


class TokenOut(BaseModel):
    id: int
    operator_id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    token: str | None = Field(default=None, description="Shown once, when created.")


class TokensQuery(Strict):
    all: bool = False


class SavedReplyIn(Strict):
    shortcut: str = Field(min_length=1, max_length=48, pattern=r"^/?[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1, max_length=128)
    body: str = Field(min_length=1, max_length=4000)
    language: Language = "en"


class SavedReplyOut(BaseModel):
    id: int
    shortcut: str
    title: str
    body: str
    language: Language


class DashboardQuery(Strict):
    days: int = Field(default=7, ge=1, le=90, description="The panel offers 7 and 30.")


class WsStatsOut(BaseModel):
    sockets: dict[str, int]
    total: int
    listener_alive: bool
    last_event_id: int
    stream_last_id: int
    outbox: dict[str, int]
    online_operators: list[dict[str, Any]]


LoginOut.model_rebuild()


class StoreIn(Strict):
    name: str = Field(min_length=1, max_length=128)
    currency: str = Field(default="RUB", pattern=r"^[A-Za-z]{3}$")
    time_zone: str = Field(default="UTC", min_length=1, max_length=64, description="IANA name, e.g. Europe/Moscow")


class StorePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    is_active: bool | None = None
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    remind_after_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    escalate_after_minutes: int | None = Field(default=None, ge=2, le=24 * 60)


class StoreInviteOut(BaseModel):
    start: str = Field(description="The /start payload: partner_<token>.")
    link: str | None = Field(description="t.me deep link, when TELEGRAM_BOT_USERNAME is set.")
    expires_in_hours: int


class StoreMemberIn(Strict):
    operator_id: Id


class ProductIn(Strict):
    name: str = Field(min_length=1, max_length=128)
    price_minor: int = Field(ge=0, le=10**12)
    description: str = Field(default="", max_length=2000)
    available: bool = True


class ProductPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    price_minor: int | None = Field(default=None, ge=0, le=10**12)
    available: bool | None = None


class SlaPolicyIn(Strict):
    first_response_minutes: int = Field(ge=1, le=366 * 1440)
    resolution_minutes: int = Field(ge=1, le=366 * 1440)


class HolidayIn(Strict):
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    name: str = Field(default="", max_length=128)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class BusinessHoursIn(Strict):
    time_zone: str = Field(min_length=1, max_length=64)
    weekly: dict[Weekday, list[list[str]]] = Field(
        description='Working spans per day in the queue\'s time zone, e.g. {"mon": [["09:00", "18:00"]]}; '
                    "days left out are closed.")
    holidays: list[HolidayIn] = Field(default_factory=list, max_length=366)


class QueueMembersIn(Strict):
    operator_ids: list[Id] = Field(max_length=500)


class QuarantineQuery(Strict):
    limit: int = Field(default=50, ge=1, le=200)
    before: Id | None = None


class RetryOut(BaseModel):
    id: int
    resolved: bool
    outcome: str = Field(description="created | appended | bounced | duplicate, or quarantined when it still fails")
    ticket_id: int | None
    message_id: int | None
    reason: str = Field(description="the new reason code while it stays quarantined, else empty")
    reason_text: str
    detail: str
