"""The Telegram sender as a contact: the identity is the Telegram user id, as text."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_spec import NAME
from core.models import Contact, ContactIdentity
from core.services.contacts import TelegramProfile, sender_of


def telegram_external_id(user_id: int) -> str:
    return str(user_id)


async def contact_for_telegram(session: AsyncSession, profile: TelegramProfile) -> Contact:
    """Find or create the sender's contact (one SELECT for a known sender whose names did not change)."""
    contact, _identity = await sender_for_telegram(session, profile)
    return contact


async def sender_for_telegram(session: AsyncSession, profile: TelegramProfile) -> tuple[Contact, ContactIdentity]:
    """The sender's contact and the Telegram identity they write from."""
    return await sender_of(
        session, NAME, telegram_external_id(profile.user_id), name=profile.full_name, username=profile.username,
        language=profile.language_code,
    )
