"""A staff group ready to link: an admin and an operator who linked Telegram, and a forum supergroup."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Operator
from core.services.operators import create_operator
from tests.botapi import TelegramServer, TgGroup, TgUser


@dataclass
class Staff:
    admin: Operator
    admin_user: TgUser
    operator: Operator
    operator_user: TgUser
    group: TgGroup


async def _operator(sessions: async_sessionmaker[AsyncSession], user: TgUser, role: str, name: str,
                    language: str = "en") -> Operator:
    async with sessions() as session, session.begin():
        operator = await create_operator(session, email=f"{name.lower()}@example.com", password="long-enough-pass",
                                         role=role, display_name=name)
        operator.telegram_user_id = user.id
        operator.language = language
        return operator


@pytest.fixture
async def staff(telegram: TelegramServer, sessions: async_sessionmaker[AsyncSession]) -> Staff:
    admin_user = telegram.user("Alla", language_code="en")
    operator_user = telegram.user("Oleg", language_code="en")
    admin = await _operator(sessions, admin_user, "admin", "Alla")
    operator = await _operator(sessions, operator_user, "operator", "Oleg")
    return Staff(admin, admin_user, operator, operator_user, telegram.group("Support staff"))


# The e-mail test's servers and channel (a real IMAP server and SMTP sink on loopback).
from tests.mail.conftest import channel, imap_server, make_poller, smtp_sink, storage  # noqa: E402, F401
