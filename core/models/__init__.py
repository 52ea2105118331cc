"""All tables. Feature modules add theirs here, each with its own Alembic revision."""

from core.models.base import Base
from core.models.files import Blob, BlobChunk
from core.models.infra import AuditLog, DeadLetter, Event, EventBatch, OutboxItem, ProcessedUpdate
from core.models.mail import MailboxState, MailMessage, MailQuarantine
from core.models.orders import (
    Order,
    OrderAlert,
    OrderIntakeKey,
    OrderItem,
    OrderTransition,
    Product,
    Store,
    StoreInvite,
    StoreMember,
)
from core.models.panel import AccountLink, ApiToken, LoginThrottle, Presence, SavedReply, WebSession
from core.models.people import Contact, ContactIdentity, Operator
from core.models.sla import BusinessHoliday, BusinessHours, QueueMember, SlaAlert, SlaPolicy, TicketNotice
from core.models.staffgroup import StaffGroup, TicketTopic
from core.models.support import (
    Article,
    ArticleFeedback,
    ContactRate,
    FsmState,
    KbMiss,
    KbSynonym,
    KbVersion,
    KbWord,
    OperatorLinkToken,
    OperatorPresence,
    TicketRating,
)
from core.models.tickets import Attachment, DashboardDay, DashboardSpan, Message, Note, Queue, Ticket
from core.models.widget import PRECHAT_MODES, Site, WidgetReceipt

__all__ = [
    "PRECHAT_MODES",
    "AccountLink",
    "ApiToken",
    "Article",
    "ArticleFeedback",
    "Attachment",
    "AuditLog",
    "Base",
    "Blob",
    "BlobChunk",
    "BusinessHoliday",
    "BusinessHours",
    "Contact",
    "ContactIdentity",
    "ContactRate",
    "DashboardDay",
    "DashboardSpan",
    "DeadLetter",
    "Event",
    "EventBatch",
    "FsmState",
    "KbMiss",
    "KbSynonym",
    "KbVersion",
    "KbWord",
    "LoginThrottle",
    "MailMessage",
    "MailQuarantine",
    "MailboxState",
    "Message",
    "Note",
    "Operator",
    "OperatorLinkToken",
    "OperatorPresence",
    "Order",
    "OrderAlert",
    "OrderIntakeKey",
    "OrderItem",
    "OrderTransition",
    "OutboxItem",
    "Presence",
    "ProcessedUpdate",
    "Product",
    "Queue",
    "QueueMember",
    "SavedReply",
    "Site",
    "SlaAlert",
    "SlaPolicy",
    "StaffGroup",
    "Store",
    "StoreInvite",
    "StoreMember",
    "Ticket",
    "TicketNotice",
    "TicketRating",
    "TicketTopic",
    "WebSession",
    "WidgetReceipt",
]
