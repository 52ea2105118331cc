"""Request and response models of the JSON API (they also write /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.domain import CHANNEL_NAME_PATTERN
from core.services.conversations import MAX_BODY
from web.input_guard import BIGINT_MAX, refuse_bad

# A database id: a bigint column holds no more, and PostgreSQL would refuse it with a 500.
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]

Status = Literal["open", "in_progress", "waiting_customer", "closed"]
Priority = Literal["low", "medium", "high", "urgent"]
# A registered adapter's name (GET /api/channels lists them); which ones exist is not the schema's business.
Channel = Annotated[str, Field(pattern=CHANNEL_NAME_PATTERN, max_length=16)]
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


class OperatorUpdatedOut(OperatorOut):
    tickets_returned: list[int] = Field(description="Open tickets given back to their queues (unassigned) "
                                                    "because this change disabled the account.")


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
    takes_orders: bool  # the channel's menu offers ordering
    staff_alerts: bool  # the channel that reaches staff (SLA, order and offline alerts to operators)


class ChannelList(BaseModel):
    items: list[ChannelOut]


class SiteRefOut(BaseModel):
    id: int
    name: str


class TicketDetailOut(TicketOut):
    channel_capabilities: ChannelOut
    site: SiteRefOut | None = None  # the website (chat widget) the ticket was started from


class LastMessageOut(BaseModel):
    """The ticket's newest message as an inbox row previews it."""

    id: int
    author_kind: str
    operator_id: int | None
    author_name: str | None = Field(description="the operator's name for an operator's message")
    text: str = Field(description="its first non-empty line, at most 160 characters")
    line: str | None = Field(description="a fixed bot/system line the panel translates (meta.line)")
    params: dict[str, Any] | None
    file_type: str | None = Field(description="the content type of its first file, if any")
    created_at: str


class SearchMatchOut(BaseModel):
    """Where a search found the row's ticket (`GET /api/tickets?q=`)."""

    source: str = Field(description="message | note | subject | name")
    id: int = Field(description="the message's or note's id (the ticket's for subject and name)")
    parts: list[tuple[str, bool]] = Field(
        description="the matched line as [text, marked] pairs: plain text, never HTML; marked parts are the hit")


class TicketRowOut(TicketOut):
    last_message: LastMessageOut | None
    match: SearchMatchOut | None = Field(default=None, description="search results only")


class HistoryItemOut(BaseModel):
    id: int
    action: str = Field(description="assignee_id | status | priority | queue_id")
    actor_kind: str
    actor_id: int | None
    actor_name: str | None
    old: Any
    new: Any
    via: str | None = Field(description='for assignments: "panel", or "reply" (assigned on first reply)')
    old_name: str | None
    new_name: str | None
    created_at: str


class HistoryList(BaseModel):
    items: list[HistoryItemOut]


class TicketPage(BaseModel):
    items: list[TicketRowOut]
    next_cursor: str | None
    jump_to: int | None = Field(default=None, description="search: the ticket `q` names (123, #123, an order's number)")
    matches: int | None = Field(default=None, description="search: tickets matched (at least, when matches_capped)")
    matches_capped: bool = Field(default=False, description="search: more matched than were read; show matches+")


class TicketPatch(Strict):
    status: Status | None = None
    priority: Priority | None = None
    queue_id: Id | None = None
    assignee_id: Id | None = None


class BulkTicketsIn(Strict):
    """One change for many tickets: `assignee_id` (null unassigns) and/or `status`."""

    ids: list[Id] = Field(min_length=1, max_length=100)
    status: Status | None = None
    assignee_id: Id | None = None


class BulkResultOut(BaseModel):
    changed: list[int]
    failed: dict[str, str] = Field(description="ticket id -> error code (not_found, transition_not_allowed, ...)")


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
    name_ru: str | None = Field(description="the name Russian-speaking operators read; null: `name`")
    display_name: str = Field(description="the name in the requester's language")
    position: int
    customer_visible: bool
    assign_on_reply: bool = Field(description="an operator's first reply to an unassigned ticket assigns it")
    auto_assign: bool = Field(description="new and orphaned tickets go to the queue's online members round robin")


class QueueIn(Strict):
    slug: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=128)
    name_ru: str | None = Field(default=None, min_length=1, max_length=128)
    assign_on_reply: bool = True
    auto_assign: bool = False


class QueuePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    name_ru: str | None = Field(default=None, max_length=128, description='"" removes the Russian name')
    customer_visible: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    assign_on_reply: bool | None = None
    auto_assign: bool | None = None


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
    days: int = Field(default=7, ge=1, le=366, description="The panel offers 7, 30 and 365 (read from daily rollups).")


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


class IdentityOut(BaseModel):
    """Who the contact is on one channel: the channel's own id for them (a Telegram user id, an address)."""

    id: int
    channel: str
    external_id: str
    username: str | None
    display_name: str
    visit: dict[str, Any] | None = None  # the website widget's page, browser, language and local time
    given_email: str | None = None  # a chat visitor's address (pre-chat form, or left for missed replies): unverified
    created_at: str | None


class ContactOut(BaseModel):
    id: int
    name: str
    language: str
    blocked: bool
    created_at: str | None
    identities: list[IdentityOut]


class ContactMergeIn(Strict):
    other_id: Id = Field(description="The contact that is the same person; it is deleted, its rows move here")
