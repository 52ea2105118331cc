"""Contacts for test setup: a contact with its identities, as the channels' adapters would make them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Contact, ContactIdentity

TELEGRAM, EMAIL = "telegram", "email"


async def make_contact(
    session: AsyncSession,
    *,
    telegram_user_id: int | None = None,
    telegram_username: str | None = None,
    email: str | None = None,
    name: str = "",
    **values: object,
) -> Contact:
    """A contact with a Telegram identity and/or an e-mail identity (rows only: no registry needed)."""
    contact = Contact(name=name, **values)
    session.add(contact)
    await session.flush()
    if telegram_user_id is not None:
        session.add(ContactIdentity(contact_id=contact.id, channel=TELEGRAM, external_id=str(telegram_user_id),
                                    username=telegram_username, display_name=name))
    if email is not None:
        session.add(ContactIdentity(contact_id=contact.id, channel=EMAIL, external_id=email.strip().lower(),
                                    display_name=name))
    await session.flush()
    return contact


async def contact_of_telegram_user(session: AsyncSession, user_id: int) -> Contact | None:
    return await session.scalar(
        select(Contact).join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(ContactIdentity.channel == TELEGRAM, ContactIdentity.external_id == str(user_id))
    )


@dataclass(frozen=True)
class ContactView:
    """A contact as tests read it: its own columns and the first address of each channel."""

    id: int
    name: str
    language: str
    blocked: bool
    email: str | None
    telegram_user_id: int | None
    telegram_username: str | None


async def contact_view(session: AsyncSession, contact_id: int) -> ContactView | None:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        return None
    identities = (await session.scalars(
        select(ContactIdentity).where(ContactIdentity.contact_id == contact_id).order_by(ContactIdentity.id)
    )).all()
    first = {i.channel: i for i in reversed(identities)}
    telegram, email = first.get(TELEGRAM), first.get(EMAIL)
    return ContactView(contact.id, contact.name, contact.language, contact.blocked,
                       email.external_id if email else None, int(telegram.external_id) if telegram else None,
                       telegram.username if telegram else None)
