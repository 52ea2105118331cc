"""Money in minor units; only formatting happens here."""

from __future__ import annotations

# Currencies whose minor unit is not a hundredth.
_EXPONENTS = {"JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3}
_SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€"}


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def format_money(minor: int, currency: str) -> str:
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**places)
    amount = f"{whole:,}".replace(",", " ")
    if places:
        amount += f".{fraction:0{places}d}"
    return f"{sign}{amount} {_SYMBOLS.get(currency.upper(), currency.upper())}"
