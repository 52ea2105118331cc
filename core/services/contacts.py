"""Contacts and their identities: who wrote (found by the channel's own id for them), where to answer
(the identity a ticket's conversation is with), and merging two contacts that are one person.

Core never interprets an identity's `external_id`: the channel's adapter builds it (the Telegram user
id as text, a lower-cased e-mail address) and reads it back as the address of a delivery."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, delete, func, literal, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import events, preloaded
from core.channels import channels_of
from core.domain import normalize_language
from core.errors import Conflict, InvalidInput, NotFound
from core.mail.channel_spec import NAME as EMAIL
from core.models import (
    ArticleFeedback,
    AuditLog,
    Contact,
    ContactIdentity,
    ContactRate,
    Operator,
    Order,
    Ticket,
    TicketRating,
)
from core.services import audit
from core.services import tickets as ticket_service


@dataclass(frozen=True)
class TelegramProfile:
    """What a Telegram update tells us about its sender, already parsed by the bot."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)[:256]


# Built once: it runs for every inbound update, and building a statement costs about as much as running it.
_BY_IDENTITY = (
    select(Contact, ContactIdentity)
    .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
    .where(ContactIdentity.channel == bindparam("channel"), ContactIdentity.external_id == bindparam("external_id"))
)
_IDENTITIES = cast(Table, ContactIdentity.__table__)
_INSERT_IDENTITY = (
    insert(_IDENTITIES)
    .values(contact_id=bindparam("contact_id"), channel=bindparam("channel"), external_id=bindparam("external_id"),
            username=bindparam("username"), display_name=bindparam("display_name"))
    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    .returning(_IDENTITIES.c.id)
)


async def contact_for_identity(
    session: AsyncSession,
    channel: str,
    external_id: str,
    *,
    name: str,
    username: str | None = None,
    language: str | None = None,
) -> Contact:
    """Find or create the contact behind (channel, external_id); see `sender_of`."""
    contact, _identity = await sender_of(session, channel, external_id, name=name, username=username,
                                         language=language)
    return contact


_KNOWN_SENDERS = "desk_known_senders"


def remember_sender(session: AsyncSession, channel: str, external_id: str, contact: Contact,
                    identity: ContactIdentity) -> None:
    """The sender's rows, already read in this transaction by a statement that did more (the update's
    intake, `core.services.updates.take_in`): the next `sender_of` for them uses these, no SELECT."""
    preloaded.keep(session, _KNOWN_SENDERS, (channel, external_id), (contact, identity))


async def sender_of(
    session: AsyncSession,
    channel: str,
    external_id: str,
    *,
    name: str,
    username: str | None = None,
    language: str | None = None,
) -> tuple[Contact, ContactIdentity]:
    """The contact behind (channel, external_id) and the identity they write from (a merged contact
    has several: a handoff opens the ticket on this one). Race-free: two first messages of a new
    person at once make one contact and one identity. A known identity whose display data did not
    change is only read (one SELECT: this runs for every Telegram update)."""
    name = name[:256]
    known = preloaded.take(session, _KNOWN_SENDERS, (channel, external_id))
    row = known if known is not preloaded.NOT_READ else (await session.execute(
        _BY_IDENTITY, {"channel": channel, "external_id": external_id})).first()
    if row is not None:
        contact, identity = row
        if (identity.display_name, identity.username) != (name, username):
            identity.display_name, identity.username = name, username
            if name:
                contact.name = name  # the name the person gives themselves now
            await session.flush()
        return cast(Contact, contact), cast(ContactIdentity, identity)
    channels_of(session).get(channel)  # a name from outside: UnknownChannel unless an adapter registered it
    contact = Contact(name=name, language=normalize_language(language))
    session.add(contact)
    await session.flush()
    # The unique (channel, external_id) decides a race: the loser's INSERT waits for the winner's commit
    # and inserts nothing; its own new contact, referenced by nothing yet, goes again.
    inserted = await session.scalar(_INSERT_IDENTITY, {
        "contact_id": contact.id, "channel": channel, "external_id": external_id, "username": username,
        "display_name": name,
    })
    if inserted is not None:
        created = await session.get(ContactIdentity, inserted)
        assert created is not None
        return contact, created
    await session.delete(contact)
    await session.flush()
    row = (await session.execute(_BY_IDENTITY, {"channel": channel, "external_id": external_id})).first()
    assert row is not None
    return cast(Contact, row[0]), cast(ContactIdentity, row[1])


def email_address(address: str) -> str:
    """The e-mail identity's external id: addresses are compared lower-cased."""
    return address.strip().lower()


async def contact_for_email(session: AsyncSession, address: str, name: str = "", language: str = "en") -> Contact:
    """The contact of a mail's sender (core/mail is the e-mail adapter; its identities are addresses)."""
    return await contact_for_identity(session, EMAIL, email_address(address), name=name, language=language)


async def identity_of(session: AsyncSession, contact_id: int, channel: str) -> ContactIdentity | None:
    """The contact's identity on `channel` (the first one, when a merge gave it several)."""
    return await session.scalar(
        select(ContactIdentity)
        .where(ContactIdentity.contact_id == contact_id, ContactIdentity.channel == channel)
        .order_by(ContactIdentity.id)
        .limit(1)
    )


async def find_identity(session: AsyncSession, channel: str, external_id: str) -> ContactIdentity | None:
    return await session.scalar(select(ContactIdentity).where(ContactIdentity.channel == channel,
                                                              ContactIdentity.external_id == external_id))


async def identities_of(session: AsyncSession, contact_id: int) -> list[ContactIdentity]:
    return list((await session.scalars(
        select(ContactIdentity).where(ContactIdentity.contact_id == contact_id).order_by(ContactIdentity.id)
    )).all())


async def address_for_ticket(session: AsyncSession, ticket: Ticket) -> ContactIdentity | None:
    """Where the ticket's conversation is: its own identity, else the contact's identity on its channel."""
    if ticket.identity_id is not None:
        identity = await session.get(ContactIdentity, ticket.identity_id)
        if identity is not None:
            return identity
    return await identity_of(session, ticket.contact_id, ticket.channel)


# -- where a chat visitor also reads replies ------------------------------------------------------------
# A web visitor may leave an e-mail address for replies they miss (`visit.email`), and the widget says
# which messages it has shown (`visit.seen`). The address is the visitor's word, not verified: it is no
# e-mail identity (anyone could type someone else's address and read their history through it), only
# where copies of this chat's replies go, and whose mailed answers come back into it.

MAX_EMAIL = 254  # RFC 5321 path limit
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def valid_email(value: str) -> str | None:
    """The address as stored (trimmed, lower-cased, as e-mail identities compare them), or None when it
    is not a plain address: too long, no domain with a dot, spaces, a display name, quoting."""
    address = value.strip()
    if len(address) > MAX_EMAIL or not _EMAIL.match(address) or ".." in address:
        return None
    return email_address(address)


def reply_email_of(identity: ContactIdentity | None) -> str | None:
    """The address this (web) identity gave for replies it misses, if any: typed in the site's pre-chat
    form or left in the chat when nobody was online. Unverified: never an e-mail identity."""
    return identity.given_email if identity is not None and identity.given_email else None


async def set_reply_email(session: AsyncSession, identity: ContactIdentity, email: str) -> str:
    """Store the address (checked by `valid_email`, InvalidInput otherwise) on the identity."""
    address = valid_email(email)
    if address is None:
        raise InvalidInput("not an e-mail address", field="email")
    await session.execute(update(ContactIdentity).where(ContactIdentity.id == identity.id).values(given_email=address))
    await session.refresh(identity, ["given_email"])
    return address


def seen_of(identity: ContactIdentity | None) -> int:
    """The id of the last message the widget of this identity has shown (0: none)."""
    value = (identity.visit or {}).get("seen") if identity is not None else None
    return value if isinstance(value, int) else 0


async def mark_seen(session: AsyncSession, channel: str, external_id: str, message_id: int) -> None:
    """The widget has shown messages up to `message_id`: kept as the highest ever said, one statement."""
    current = func.coalesce(ContactIdentity.visit.op("->>")("seen").cast(BigInteger), 0)
    await session.execute(update(ContactIdentity).where(
        ContactIdentity.channel == channel, ContactIdentity.external_id == external_id, current < message_id,
    ).values(visit=func.coalesce(ContactIdentity.visit, sql_cast(literal("{}"), JSONB)).op("||")(
        func.jsonb_build_object("seen", message_id))))


def identity_payload(identity: ContactIdentity) -> dict[str, Any]:
    return {
        "id": identity.id,
        "channel": identity.channel,
        "external_id": identity.external_id,
        "username": identity.username,
        "display_name": identity.display_name,
        "visit": identity.visit,
        "given_email": identity.given_email,
        "created_at": identity.created_at.isoformat() if identity.created_at else None,
    }


def contact_payload(contact: Contact, identities: list[ContactIdentity]) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "language": contact.language,
        "blocked": contact.blocked,
        "created_at": contact.created_at.isoformat() if contact.created_at else None,
        "identities": [identity_payload(identity) for identity in identities],
    }


async def get_contact(session: AsyncSession, contact_id: int) -> dict[str, Any]:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("contact", contact_id=contact_id)
    return contact_payload(contact, await identities_of(session, contact.id))


# Rows that belong to a contact and simply change owner in a merge.
_MOVED = (ContactIdentity, Ticket, Order, TicketRating)


async def merge_contacts(session: AsyncSession, keep_id: int, other_id: int, actor: Operator) -> dict[str, Any]:
    """`other` is the same person as `keep`: its identities, tickets, orders, ratings and votes move to
    `keep` and `other` is deleted; each moved ticket is published as `ticket.updated`, so open inboxes
    show it under `keep`. Refused (Conflict) while both have a live ticket on one channel of
    `live_conversations`: that would break the one-live-ticket rule; the operator closes one first."""
    if keep_id == other_id:
        raise InvalidInput("a contact cannot be merged with itself", field="other_id")
    # Both rows locked, in id order, so two merges of the same pair cannot interleave.
    locked = (await session.scalars(
        select(Contact).where(Contact.id.in_((keep_id, other_id))).order_by(Contact.id).with_for_update()
    )).all()
    by_id = {contact.id: contact for contact in locked}
    keep, other = by_id.get(keep_id), by_id.get(other_id)
    if keep is None:
        raise NotFound("contact", contact_id=keep_id)
    if other is None:
        raise NotFound("contact", contact_id=other_id)
    live = channels_of(session).names_with("live_conversations")
    clash = await session.scalar(
        select(Ticket.channel).where(Ticket.contact_id == keep_id, Ticket.status != "closed", Ticket.single_live,
                                     Ticket.channel.in_(live),
                                     Ticket.channel.in_(select(Ticket.channel).where(
                                         Ticket.contact_id == other_id, Ticket.status != "closed",
                                         Ticket.single_live))).limit(1)
    )
    if clash is not None:
        raise Conflict("both contacts have a live ticket on this channel: close one first", channel=clash)
    moved_tickets = (await session.scalars(select(Ticket.id).where(Ticket.contact_id == other_id)
                                           .order_by(Ticket.id))).all()
    moved: dict[str, int] = {}
    for model in _MOVED:
        result = await session.execute(update(model).where(model.contact_id == other_id)  # type: ignore[attr-defined]
                                       .values(contact_id=keep_id))
        moved[model.__tablename__] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    # One vote per article and contact: the kept contact's vote wins over the other's.
    await session.execute(delete(ArticleFeedback).where(
        ArticleFeedback.contact_id == other_id,
        ArticleFeedback.article_id.in_(select(ArticleFeedback.article_id).where(ArticleFeedback.contact_id == keep_id)),
    ))
    await session.execute(update(ArticleFeedback).where(ArticleFeedback.contact_id == other_id)
                          .values(contact_id=keep_id))
    await session.execute(delete(ContactRate).where(ContactRate.contact_id == other_id))
    # What the contact did stays attributed to the person (the audit log keeps contact ids, no FK).
    await session.execute(update(AuditLog).where(AuditLog.actor_kind == "contact", AuditLog.actor_id == other_id)
                          .values(actor_id=keep_id))
    if not keep.name and other.name:
        keep.name = other.name
    if other.language_chosen and not keep.language_chosen:
        keep.language, keep.language_chosen = other.language, True
    await session.delete(other)
    await session.flush()
    audit.record(session, actor_kind="operator", actor_id=actor.id, action="contact.merge", object_type="contact",
                 object_id=keep_id, other_id=other_id, moved=moved)
    data = {"id": keep_id, "other_id": other_id, "moved": moved,
            "identities": [identity_payload(i) for i in await identities_of(session, keep_id)]}
    events.publish(session, "contact.merged", data)
    # Open inboxes show each moved ticket under the kept contact.
    for ticket in (await session.scalars(select(Ticket).where(Ticket.id.in_(moved_tickets)).order_by(Ticket.id)
                                         .execution_options(populate_existing=True))).all():
        events.publish(session, "ticket.updated", ticket_service.ticket_payload(ticket), ticket_id=ticket.id)
    await session.flush()
    return await get_contact(session, keep_id)


async def block_identity(session: AsyncSession, identity_id: int) -> None:
    """The channel says the person at this identity is gone (blocked the bot): nothing more is queued
    there. The contact is blocked as a whole once every identity of theirs is."""
    await session.execute(update(ContactIdentity).where(ContactIdentity.id == identity_id,
                                                        ContactIdentity.blocked.is_(False))
                          .values(blocked=True, blocked_at=func.now()))
    owner = select(ContactIdentity.contact_id).where(ContactIdentity.id == identity_id).scalar_subquery()
    open_identity = select(ContactIdentity.id).where(ContactIdentity.contact_id == Contact.id,
                                                     ContactIdentity.blocked.is_(False))
    await session.execute(update(Contact).where(Contact.id == owner, Contact.blocked.is_(False),
                                                ~open_identity.exists())
                          .values(blocked=True, blocked_at=func.now()))


async def identity_of_delivery(session: AsyncSession, channel: str, payload: dict[str, Any]) -> ContactIdentity | None:
    """The identity an outbox row went to: its ticket's (a reply, a closing notice), else the
    contact's identity on the channel, else the one the channel addresses by its own id (`address`,
    or a Telegram notice's `chat_id`)."""
    ticket_id, contact_id = payload.get("ticket_id"), payload.get("contact_id")
    ticket = await session.get(Ticket, int(ticket_id)) if ticket_id else None
    if ticket is not None and (contact_id is None or ticket.contact_id == int(contact_id)):
        return await address_for_ticket(session, ticket)
    if contact_id is not None:
        return await identity_of(session, int(contact_id), channel)
    address = payload.get("address", payload.get("chat_id"))
    return await find_identity(session, channel, str(address)) if address is not None else None


async def block_delivery_recipient(session: AsyncSession, channel: str, payload: dict[str, Any]) -> None:
    """A delivery's recipient is gone (`RecipientGone`): block the identity it went to, only that one."""
    identity = await identity_of_delivery(session, channel, payload)
    if identity is not None:
        await block_identity(session, identity.id)


async def unblock_identity(session: AsyncSession, contact: Contact, identity: ContactIdentity) -> None:
    """The person writes to us again from this identity: they unblocked us there, so the contact is
    reachable again too."""
    if identity.blocked:
        identity.blocked, identity.blocked_at = False, None
    contact.blocked = False  # its `blocked_at` stays: when it last was
    await session.flush()
