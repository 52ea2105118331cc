"""All tables. Feature modules add theirs here, each with its own Alembic revision."""

from core.models.base import Base
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
from core.models.people import Contact, Operator
from core.models.sla import BusinessHoliday, BusinessHours, QueueMember, SlaAlert, SlaPolicy, TicketNotice
from core.models.support import (
    Article,
    ArticleFeedback,
    ContactRate,
    FsmState,
    OperatorLinkToken,
    OperatorPresence,
    TicketRating,
)
from core.models.tickets import Attachment, Message, Note, Queue, Ticket

__all__ = [
    "AccountLink",
    "ApiToken",
    "Article",
    "ArticleFeedback",
    "Attachment",
    "AuditLog",
    "Base",
    "BusinessHoliday",
    "BusinessHours",
    "Contact",
    "ContactRate",
    "DeadLetter",
    "Event",
    "EventBatch",
    "FsmState",
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
    "SlaAlert",
    "SlaPolicy",
    "Store",
    "StoreInvite",
    "StoreMember",
    "Ticket",
    "TicketNotice",
    "TicketRating",
    "WebSession",
]
