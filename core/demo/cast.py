"""Who lives in the demo desk: sandbox users with fixed ids below the ones the /sandbox page hands out
(`core.sandbox_users.FIRST_USER`), so a second run finds the same people, and the operator account."""

from __future__ import annotations

from dataclasses import dataclass

from core.sandbox_users import SandboxUser

PARTNER_ID = 899_000_001
OPERATOR_EMAIL = "operator@demo.example"


@dataclass(frozen=True)
class Customer:
    key: str  # names the customer in the demo's scripts
    user: SandboxUser


CUSTOMERS = {
    c.key: c for c in (
        Customer("anna", SandboxUser(899_000_011, "Анна", "anna_tea", "ru")),
        Customer("tom", SandboxUser(899_000_012, "Tom", "tom_baker", "en")),
        Customer("maria", SandboxUser(899_000_013, "Maria", None, "en")),
        Customer("dmitry", SandboxUser(899_000_014, "Дмитрий", None, "ru")),
    )
}


def partner(language: str) -> SandboxUser:
    """The store's partner, speaking the language of whoever runs the demo."""
    return SandboxUser(PARTNER_ID, "Olga" if language == "en" else "Ольга", "olga_greenleaf", language)


def sandbox_users(language: str) -> list[SandboxUser]:
    return [partner(language), *(c.user for c in CUSTOMERS.values())]


def external_ids() -> list[str]:
    """The Telegram ids of every demo person, as contact identities store them."""
    return [str(user.id) for user in sandbox_users("en")]
