from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import normalize_language
from core.models import Contact


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


_BY_TELEGRAM = select(Contact).where(Contact.telegram_user_id == bindparam("user_id"))


async def contact_for_telegram(session: AsyncSession, profile: TelegramProfile) -> Contact:
    """Find or create the contact; race-free (two updates of a new user at once make one row).
    It runs for every update: a known contact whose name and username did not change is only read."""
    known = await session.scalar(_BY_TELEGRAM, {"user_id": profile.user_id})
    if known is not None and (known.name, known.telegram_username) == (profile.full_name, profile.username):
        return known
    stmt = (
        insert(Contact)
        .values(
            telegram_user_id=profile.user_id,
            telegram_username=profile.username,
            name=profile.full_name,
            language=normalize_language(profile.language_code),
        )
        .on_conflict_do_update(
            index_elements=["telegram_user_id"],
            set_={"telegram_username": profile.username, "name": profile.full_name},
        )
        .returning(Contact)
    )
    contact = await session.scalar(stmt, execution_options={"populate_existing": True})
    assert contact is not None
    return contact


async def contact_for_email(session: AsyncSession, address: str, name: str = "", language: str = "en") -> Contact:
    address = address.strip().lower()
    stmt = (
        insert(Contact)
        .values(email=address, name=name[:256], language=normalize_language(language))
        .on_conflict_do_nothing(index_elements=["email"])
    )
    await session.execute(stmt)
    contact = await session.scalar(select(Contact).where(Contact.email == address))
    assert contact is not None
    return contact
